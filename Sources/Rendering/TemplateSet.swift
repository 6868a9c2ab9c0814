public import Foundation
public import Mustache

/// The compiled templates of one template directory, keyed by their path relative to it without the
/// `.mustache` suffix (`kubernetes/namespace.yaml`). Load once per process and share: rendering only
/// reads it.
///
/// Escaping: every template is compiled in Mustache's `TEXT` content type (the loader puts the
/// `{{% CONTENT_TYPE: TEXT}}` pragma in front of each file), so `{{name}}` inserts the value as it
/// is and HTML escaping never rewrites YAML, INI or Compose text. That is safe only because every
/// value was validated against a strict pattern first (`StackSpec.validate()`); templates use
/// double mustaches throughout, never triple ones.
public struct TemplateSet: Sendable {
    public let directory: String
    private let templates: [String: MustacheTemplate]

    /// The template names every template directory must provide.
    public static let required: [String] = StackRenderer.outputs.map(\.template).reduce(into: []) { names, name in
        if !names.contains(name) { names.append(name) }
    }

    /// Reads and compiles every `*.mustache` file under `directory`; throws naming the first file
    /// that is missing, unreadable or does not compile.
    public static func load(directory: String) throws(TemplateError) -> TemplateSet {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .directoryMissing(directory)
        }
        var templates: [String: MustacheTemplate] = [:]
        for name in templateNames(under: root) {
            let file = root.appendingPathComponent(name + ".mustache").path
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw .unreadable(file: file)
            }
            templates[name] = try compile(text, file: file)
        }
        for name in required where templates[name] == nil {
            throw .missing(file: root.appendingPathComponent(name + ".mustache").path)
        }
        return TemplateSet(directory: root.path, templates: templates)
    }

    /// Compiles one template's text in the TEXT content type.
    public static func compile(_ text: String, file: String) throws(TemplateError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
        } catch let error as MustacheTemplate.ParserError {
            throw .doesNotCompile(file: file, line: error.context.lineNumber, reason: "\(error.error)")
        } catch {
            throw .doesNotCompile(file: file, line: 0, reason: "\(error)")
        }
    }

    /// The built-in templates: `PROVISIONER_TEMPLATES_DIR` when set, else the first `templates/`
    /// directory found in the working directory or above the executable.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let configured = environment["PROVISIONER_TEMPLATES_DIR"], !configured.isEmpty { return configured }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").standardizedFileURL.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(executable)
            executable = executable.deletingLastPathComponent()
        }
        for candidate in candidates {
            let templates = candidate.appendingPathComponent("templates", isDirectory: true)
            if FileManager.default.fileExists(atPath: templates.appendingPathComponent("kubernetes").path) { return templates.path }
        }
        return nil
    }

    func template(named name: String) throws(RenderError) -> MustacheTemplate {
        guard let template = templates[name] else { throw .templateMissing(name) }
        return template
    }

    private static func templateNames(under root: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var names: [String] = []
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in enumerator where url.pathExtension == "mustache" {
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(prefix) else { continue }
            names.append(String(path.dropFirst(prefix.count).dropLast(".mustache".count)))
        }
        return names.sorted()
    }
}
