import Artifacts
import Foundation
import Rendering

/// The rendering benchmark (run by bench/render.sh, release build, pinned to one core there).
///
/// Loads the templates once, decodes one stack spec once (default: the dedicated example), then on
/// one thread, each for about `--seconds` after a warm-up:
///   - `StackRenderer.render`: validation, render context, every template, normalization, SHA-256
///     per file and the revision digest: the figure the target (2,000 renders/s) is about;
///   - `StackRenderer.renderFiles`: the same without any hashing;
///   - `StackRenderer.inputs`: validation and render context only (no template is rendered);
/// so the template engine's share (renderFiles - inputs) and the hashing's share (render -
/// renderFiles) are visible. Prints a `RESULT key=value ...` line for the script.
///
///   RenderBenchmark [--seconds S] [--templates DIR] [--spec FILE]
///   RenderBenchmark --dump-context FILE [--templates DIR] [--spec FILE]
///   RenderBenchmark --profile-iterations N [--templates DIR] [--spec FILE]
///
/// `--dump-context` (for bench/render_peer.py) writes, as JSON, each output's path, template name
/// and the values its template sees, with the bytes, SHA-256 and size the Swift renderer makes of
/// it, and the revision digest; it measures nothing. `--profile-iterations N` only renders N times,
/// for a profiler (`valgrind --tool=callgrind`, `perf record`).
@main
struct RenderBenchmark {
    static func main() throws {
        var seconds = 5.0
        var templatesDirectory = TemplateSet.defaultDirectory()
        var specPath = "examples/specs/dedicated-custom-domain.json"
        var dumpPath: String?
        var profileIterations: Int?
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            guard let value = arguments.popFirst() else { throw Usage.arguments }
            switch argument {
            case "--seconds":
                guard let parsed = Double(value), parsed > 0 else { throw Usage.arguments }
                seconds = parsed
            case "--templates": templatesDirectory = value
            case "--spec": specPath = value
            case "--dump-context": dumpPath = value
            case "--profile-iterations":
                guard let parsed = Int(value), parsed > 0 else { throw Usage.arguments }
                profileIterations = parsed
            default: throw Usage.arguments
            }
        }
        guard let templatesDirectory else { throw Usage(message: "no templates directory found; pass --templates DIR") }
        let templates = try TemplateSet.load(directory: templatesDirectory)
        guard let data = FileManager.default.contents(atPath: specPath) else { throw Usage(message: "cannot read \(specPath)") }
        let spec = try StackSpec.decode(from: data)
        let renderer = StackRenderer(templates: templates)
        let revision = try renderer.render(spec)

        if let dumpPath {
            try dumpContext(renderer: renderer, spec: spec, revision: revision, to: dumpPath)
            return
        }

        if let profileIterations {
            // For profilers (callgrind, perf): exactly this many full renders, nothing timed.
            for _ in 0..<profileIterations { _ = try renderer.render(spec) }
            return
        }

        let files = revision.files.count
        let bytes = revision.files.reduce(0) { $0 + $1.size }
        print("rendering \(specPath) (\(spec.kind), \(spec.tenants.count) tenant(s)): \(files) files, \(bytes) bytes per render")
        let full = try measure(seconds: seconds) { _ = try renderer.render(spec) }
        let unhashed = try measure(seconds: seconds) { _ = try renderer.renderFiles(spec) }
        let contextOnly = try measure(seconds: seconds) { _ = try renderer.inputs(spec) }

        print("StackRenderer, release build, one thread, \(format(seconds, digits: 1)) s per measurement after warm-up")
        print("  measurement                                     renders/s   us/render")
        for (name, result) in [
            ("render (validate+context+templates+sha256)", full), ("renderFiles (no SHA-256)", unhashed),
            ("inputs (validate+context only)", contextOnly),
        ] {
            let perSecond = pad(format(result.perSecond, digits: 0), 10, right: true)
            print("  \(pad(name, 46))  \(perSecond)  \(pad(format(result.microseconds), 10, right: true))")
        }
        let hashing = full.microseconds - unhashed.microseconds
        let engine = unhashed.microseconds - contextOnly.microseconds
        print(
            "  shares of a full render: templates+normalization \(format(engine)) us (\(percent(engine, of: full.microseconds))), "
                + "SHA-256 + digest \(format(hashing)) us (\(percent(hashing, of: full.microseconds))), "
                + "validation+context \(format(contextOnly.microseconds)) us (\(percent(contextOnly.microseconds, of: full.microseconds)))")
        print(
            "RESULT renders_per_s=\(format(full.perSecond, digits: 1)) us_per_render=\(format(full.microseconds, digits: 3))"
                + " renders=\(full.iterations) files=\(files) bytes=\(bytes)"
                + " nohash_per_s=\(format(unhashed.perSecond, digits: 1)) nohash_us=\(format(unhashed.microseconds, digits: 3))"
                + " context_us=\(format(contextOnly.microseconds, digits: 3)) digest=\(revision.digest)")
    }

    struct Measurement {
        let iterations: Int
        let microseconds: Double
        var perSecond: Double { 1e6 / microseconds }
    }

    /// Calls `body` for about `seconds` on this thread after a warm-up of a tenth of that (at least
    /// 0.2 s); the clock is read every 16 calls.
    static func measure(seconds: Double, _ body: () throws -> Void) throws -> Measurement {
        let clock = ContinuousClock()
        let warmUpEnd = clock.now + .seconds(max(0.2, seconds / 10))
        while clock.now < warmUpEnd {
            for _ in 0..<16 { try body() }
        }
        var iterations = 0
        let started = clock.now
        var elapsed = Duration.zero
        while elapsed < .seconds(seconds) {
            for _ in 0..<16 { try body() }
            iterations += 16
            elapsed = clock.now - started
        }
        return Measurement(iterations: iterations, microseconds: microseconds(elapsed) / Double(iterations))
    }

    static func dumpContext(renderer: StackRenderer, spec: StackSpec, revision: ArtifactRevision, to path: String) throws {
        var outputs: [[String: Any]] = []
        for input in try renderer.inputs(spec) {
            guard let file = revision.file(at: input.path) else { throw Usage(message: "no rendered file \(input.path)") }
            outputs.append([
                "path": input.path, "template": input.template, "values": input.values,
                "contents": String(decoding: file.contents, as: UTF8.self), "sha256": file.sha256, "size": file.size,
            ])
        }
        let document: [String: Any] = [
            "templates": renderer.templates.directory, "outputs": outputs, "digest": revision.digest,
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw Usage(message: "cannot write \(path)") }
    }

    struct Usage: Error, CustomStringConvertible {
        let message: String
        var description: String { message }

        static let arguments = Usage(
            message: "usage: RenderBenchmark [--seconds S] [--templates DIR] [--spec FILE] [--dump-context FILE]")
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }

    static func percent(_ part: Double, of whole: Double) -> String {
        whole > 0 ? format(100 * part / whole, digits: 0) + " %" : "?"
    }

    static func format(_ value: Double, digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }
}
