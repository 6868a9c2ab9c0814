public import Artifacts
import JWT
import Mustache

/// Renders a validated `StackSpec` into its artifact set (Kubernetes kustomize directory, Argo CD
/// Application, Traefik file-provider configuration, and for dedicated stacks a Compose project).
/// Deterministic: the same spec and templates always give the same bytes.
public struct StackRenderer: Sendable {
    public let templates: TemplateSet

    public init(templates: TemplateSet) {
        self.templates = templates
    }

    /// One output file: which template makes it, for which stacks, in which variant of the context.
    struct Output: Sendable {
        enum Condition: Sendable {
            case always
            case dedicated
            /// A cert-manager stack with routed hostnames.
            case certManager
            /// A stack with routed hostnames.
            case routed
        }

        enum Variant: Sendable {
            case plain
            case odooConf(process: String, target: String)
        }

        var template: String
        var path: String
        var condition: Condition = .always
        var variant: Variant = .plain
    }

    /// Every file a stack can have, and the template each comes from.
    static let outputs: [Output] = {
        var outputs: [Output] = []
        for name in [
            "kustomization", "namespace", "service-account", "resource-quota", "limit-range", "network-policies", "external-secrets",
            "odoo-web", "odoo-cron", "services", "filestore", "pod-disruption-budget", "horizontal-pod-autoscaler", "redis",
            "middlewares", "ingress-routes", "tenant-init-jobs",
        ] {
            outputs.append(
                Output(
                    template: "kubernetes/\(name).yaml", path: "kubernetes/\(name).yaml",
                    condition: name == "ingress-routes" ? .routed : .always
                )
            )
        }
        outputs += [
            Output(template: "kubernetes/certificate.yaml", path: "kubernetes/certificate.yaml", condition: .certManager),
            Output(template: "kubernetes/database-cluster.yaml", path: "kubernetes/database-cluster.yaml", condition: .dedicated),
            Output(template: "kubernetes/scheduled-backup.yaml", path: "kubernetes/scheduled-backup.yaml", condition: .dedicated),
            Output(template: "odoo/odoo.conf", path: "kubernetes/odoo/web.conf", variant: .odooConf(process: "web", target: "kubernetes")),
            Output(template: "odoo/odoo.conf", path: "kubernetes/odoo/cron.conf", variant: .odooConf(process: "cron", target: "kubernetes")),
            Output(template: "argocd/application.yaml", path: "argocd/application.yaml"),
            Output(template: "traefik/dynamic.yaml", path: "traefik/dynamic.yaml"),
            Output(template: "compose/compose.yaml", path: "compose/compose.yaml", condition: .dedicated),
            Output(
                template: "odoo/odoo.conf", path: "compose/odoo/web.conf", condition: .dedicated,
                variant: .odooConf(process: "web", target: "compose")),
            Output(
                template: "odoo/odoo.conf", path: "compose/odoo/cron.conf", condition: .dedicated,
                variant: .odooConf(process: "cron", target: "compose")
            ),
        ]
        return outputs
    }()

    /// Validates `spec`, then renders every output and hashes each file. Throws
    /// `RenderError.invalidSpec` with all field errors when the spec breaks a rule; nothing is
    /// rendered then.
    public func render(_ spec: StackSpec) throws(RenderError) -> ArtifactRevision {
        var files: [ArtifactFile] = []
        for file in try renderFiles(spec) {
            do {
                files.append(try ArtifactFile(path: file.path, contents: file.contents))
            } catch {
                throw .artifact(error)
            }
        }
        do {
            return try ArtifactRevision(files: files)
        } catch {
            throw .artifact(error)
        }
    }

    /// One rendered output before it becomes an `ArtifactFile`: no SHA-256 yet.
    public struct RenderedFile: Sendable, Equatable {
        public let path: String
        public let contents: [UInt8]
    }

    /// `render` without the hashing: validates `spec`, then renders and normalizes every output, in
    /// the order of `outputs` (not sorted by path).
    public func renderFiles(_ spec: StackSpec) throws(RenderError) -> [RenderedFile] {
        let context = try Self.context(for: spec)
        var files: [RenderedFile] = []
        for output in Self.outputs {
            guard let object = context.mustacheObject(for: output) else { continue }
            let text = try templates.template(named: output.template).render(object)
            files.append(RenderedFile(path: output.path, contents: Self.normalizedBytes(text)))
        }
        return files
    }

    /// The render context of a spec that passes validation.
    static func context(for spec: StackSpec) throws(RenderError) -> RenderContext {
        let errors = spec.validate()
        guard errors.isEmpty, let size = SizeProfile.named(spec.size) else { throw .invalidSpec(errors) }
        return RenderContext(spec: spec, size: size)
    }

    /// Trailing spaces stripped from every line, runs of blank lines collapsed to one, exactly
    /// one final newline: templates may use sections freely without leaving noise behind.
    static func normalized(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var trimmed = line
            while trimmed.last == " " || trimmed.last == "\t" { trimmed = trimmed.dropLast() }
            if trimmed.isEmpty && (lines.last?.isEmpty ?? true) { continue }
            lines.append(trimmed)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `normalized(text)` as UTF-8 bytes. Text that is all ASCII and has no carriage return (what
    /// the templates and validated values make) is normalized byte by byte, with the same result:
    /// there every `Character` is one byte, so a line ends at each `\n` and a trailing space or tab
    /// is one byte. Other text goes through `normalized` (a `\r\n` is one `Character` there).
    /// Splitting a rendered stack into `Character`s was most of a render's time.
    static func normalizedBytes(_ text: String) -> [UInt8] {
        var text = text
        let bytes = text.withUTF8 { source -> [UInt8]? in
            guard source.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\r") }) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(source.count + 1)
            // An empty line is written only once a non-empty line follows it (trailing ones are dropped).
            var pendingEmptyLine = false
            var lineStart = 0
            while lineStart <= source.count {
                var lineEnd = lineStart
                while lineEnd < source.count && source[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                var trimmedEnd = lineEnd
                while trimmedEnd > lineStart && (source[trimmedEnd - 1] == UInt8(ascii: " ") || source[trimmedEnd - 1] == UInt8(ascii: "\t")) {
                    trimmedEnd -= 1
                }
                if trimmedEnd == lineStart {
                    if !out.isEmpty { pendingEmptyLine = true }
                } else {
                    if pendingEmptyLine { out.append(UInt8(ascii: "\n")) }
                    pendingEmptyLine = false
                    out.append(contentsOf: source[lineStart..<trimmedEnd])
                    out.append(UInt8(ascii: "\n"))
                }
                lineStart = lineEnd + 1
            }
            if out.isEmpty { out.append(UInt8(ascii: "\n")) }
            return out
        }
        return bytes ?? Array(normalized(text).utf8)
    }

    /// A short, stable name fragment for a value that may not fit a Kubernetes name.
    static func shortHash(_ value: String) -> String {
        String(Digest.sha256Hex(Array(value.utf8)).prefix(12))
    }
}
