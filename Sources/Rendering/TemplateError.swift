/// Why a template directory cannot be used; each case names the file.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    case directoryMissing(String)
    case missing(file: String)
    case unreadable(file: String)
    case doesNotCompile(file: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .directoryMissing(let directory): "template directory \(directory) does not exist"
        case .missing(let file): "template \(file) is missing"
        case .unreadable(let file): "template \(file) cannot be read as UTF-8"
        case .doesNotCompile(let file, let line, let reason): "template \(file) does not compile (line \(line)): \(reason)"
        }
    }
}
