extension StackRenderer {
    /// What one output file is rendered from: its path, its template's name and the values the
    /// template sees. For tools that render the same templates elsewhere (the rendering benchmark's
    /// peer); `render` does not go through it.
    public struct Input {
        public let path: String
        public let template: String
        /// Strings, `Int`s, `Bool`s, arrays and `[String: Any]` dictionaries only.
        public let values: [String: Any]
    }

    /// Validates `spec`, then lists every output with the values its template sees, in the order of
    /// `renderFiles`.
    public func inputs(_ spec: StackSpec) throws(RenderError) -> [Input] {
        let context = try Self.context(for: spec)
        return Self.outputs.compactMap { output in
            context.values(for: output).map { Input(path: output.path, template: output.template, values: $0) }
        }
    }
}
