public import Artifacts

/// Why a stack was not rendered.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec broke these rules; nothing was rendered.
    case invalidSpec([SpecFieldError])
    case templateMissing(String)
    case artifact(ArtifactError)

    public var description: String {
        switch self {
        case .invalidSpec(let errors): "invalid stack spec: " + errors.map(\.description).joined(separator: "; ")
        case .templateMissing(let name): "no template named \(name)"
        case .artifact(let error): "artifact refused: \(error)"
        }
    }
}
