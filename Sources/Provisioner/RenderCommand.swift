import ArgumentParser
import Artifacts
import Foundation
import Rendering

/// `provisioner render`: renders one stack spec (JSON) to a directory, for operators and tests.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a stack spec (JSON) into Kubernetes, Compose and Traefik files; prints the revision digest."
    )

    @Option(help: "The stack spec, a JSON file (snake_case keys).")
    var spec: String

    @Option(help: "The directory to write the files into (created when missing; files of the revision are replaced).")
    var out: String

    @Option(help: "The template directory (default: PROVISIONER_TEMPLATES_DIR, else the repository's templates/).")
    var templates: String?

    @Flag(help: "Also print the revision manifest (sha256, size and path of each file).")
    var manifest = false

    func run() throws {
        let templateSet: TemplateSet
        if let templates {
            do {
                templateSet = try TemplateSet.load(directory: templates)
            } catch {
                throw ValidationError("--templates: \(error)")
            }
        } else {
            templateSet = try TemplateSet.loadForStartup(environment: ProcessInfo.processInfo.environment)
        }
        guard let data = FileManager.default.contents(atPath: spec) else {
            throw ValidationError("cannot read \(spec)")
        }
        let stack: StackSpec
        do {
            stack = try StackSpec.decode(from: data)
        } catch {
            printError("provisioner render: \(spec) is not a stack spec: \(error)")
            throw ExitCode(2)
        }
        let revision: ArtifactRevision
        switch Result(catching: { () throws(RenderError) -> ArtifactRevision in try StackRenderer(templates: templateSet).render(stack) }) {
        case .success(let rendered):
            revision = rendered
        case .failure(.invalidSpec(let errors)):
            for error in errors { printError("\(spec): \(error.field): \(error.message)") }
            throw ExitCode(2)
        case .failure(let error):
            printError("provisioner render: \(error)")
            throw ExitCode(1)
        }
        let root = URL(fileURLWithPath: out, isDirectory: true)
        for file in revision.files {
            let url = root.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.contents).write(to: url, options: .atomic)
        }
        if manifest { print(revision.manifest, terminator: "") }
        print(revision.digest)
    }

    private func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
