import Mustache

/// The render context in the form swift-mustache looks values up fastest. The values and so the
/// bytes are those of `values(for:)`; only the work per tag changes. (Measured with callgrind on
/// the dedicated example: about 15 % fewer instructions per full render than the plain
/// `[String: Any]` dictionaries.)
extension RenderContext {
    /// A string or integer as the templates print it, made once per render. swift-mustache prints
    /// a `MustacheCustomRenderable` through `renderText`; any other value goes through failed casts
    /// to several protocols and `String(describing:)`, on every tag.
    /// Transforms (`{{uppercased(name)}}`, `{{plusone(port)}}`) apply to the original value.
    struct PrintedValue: MustacheCustomRenderable, MustacheTransformable {
        let renderText: String
        let original: any MustacheTransformable
        var isNull: Bool { false }

        func transform(_ name: String) -> Any? { original.transform(name) }
    }

    /// A dictionary of values behind a plain (not conditional) `MustacheParent` conformance, which
    /// the lookup of every name checks on every level of the context stack.
    struct Table: MustacheParent, MustacheTransformable {
        let entries: [String: Any]

        func child(named name: String) -> Any? { entries[name] }
        func transform(_ name: String) -> Any? { entries.transform(name) }
    }

    /// An `odoo.conf`'s values: its own over the stack's, looked up in that order, so the stack's
    /// values are not copied into a new dictionary for each of the four files.
    struct LayeredValues: MustacheParent {
        let top: [String: Any]
        let base: [String: Any]

        func child(named name: String) -> Any? {
            if let value = top[name] { return value }
            return base[name]
        }
    }

    /// What `output`'s template is rendered with, or nil when the stack has no such file: the same
    /// values as `values(for:)`, made `printed`.
    func mustacheObject(for output: StackRenderer.Output) -> Any? {
        switch output.condition {
        case .always: break
        case .dedicated: guard isDedicated else { return nil }
        case .certManager: guard usesCertManager && isRouted else { return nil }
        case .routed: guard isRouted else { return nil }
        }
        guard case .odooConf(let process, let target) = output.variant else { return Table(entries: mustacheValues) }
        let top = odooConfValues(process: process, target: target).mapValues(Self.printed)
        return LayeredValues(top: top, base: mustacheValues)
    }

    /// `value` with every string and integer in it (in arrays and dictionaries too) made a
    /// `PrintedValue` and every dictionary a `Table`. Bools stay Bools (sections test them), and
    /// lists of strings stay as they are (the `sorted` transform needs `Comparable` elements).
    static func printed(_ value: Any) -> Any {
        switch value {
        case let string as String: PrintedValue(renderText: string, original: string)
        case let integer as Int: PrintedValue(renderText: String(integer), original: integer)
        case let strings as [String]: strings
        case let array as [Any]: array.map(printed)
        case let dictionary as [String: Any]: Table(entries: dictionary.mapValues(printed))
        default: value
        }
    }
}
