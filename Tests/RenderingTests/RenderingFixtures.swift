import Foundation
import Rendering

/// Paths and specs shared by the rendering tests: the repository's templates and example specs.
enum RenderingFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let templatesDirectory = repositoryRoot.appendingPathComponent("templates").path
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static let templates: Result<TemplateSet, TemplateError> = Result { () throws(TemplateError) -> TemplateSet in
        try TemplateSet.load(directory: templatesDirectory)
    }

    static func renderer() throws -> StackRenderer {
        StackRenderer(templates: try templates.get())
    }

    static func example(_ name: String) throws -> StackSpec {
        let url = repositoryRoot.appendingPathComponent("examples/specs/\(name).json")
        return try StackSpec.decode(from: try Data(contentsOf: url))
    }

    static var shared: StackSpec { get throws { try example("shared-three-tenants") } }
    static var dedicated: StackSpec { get throws { try example("dedicated-custom-domain") } }
}
