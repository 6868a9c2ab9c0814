import Catalog
import Hummingbird

/// Reads a request's query parameters, collecting a field error for every value its parser
/// refuses, so that a request with several bad parameters hears about all of them at once (422).
struct QueryParameterReader {
    static let limitRule = "must be an integer from 1 to 200"
    static let cursorRule = "is not a cursor this API gave"

    private let parameters: Parameters
    private(set) var errors: [FieldError] = []

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    /// The parsed value of the parameter `name`, nil when absent; a field error (`rule`) when
    /// `parse` refuses it.
    mutating func read<Value>(_ name: String, _ rule: String, _ parse: (String) -> Value?) -> Value? {
        guard let raw = parameters[name[...]].map(String.init) else { return nil }
        guard let value = parse(raw) else {
            errors.append(FieldError(field: name, message: rule))
            return nil
        }
        return value
    }

    /// `limit`: an integer from 1 to 200, nil when absent.
    mutating func limit() -> Int? {
        read("limit", Self.limitRule) { Int($0).flatMap { (1...200).contains($0) ? $0 : nil } }
    }

    /// `cursor`, decoded by `decode`, nil when absent.
    mutating func cursor<Position>(_ decode: (String) -> Position?) -> Position? {
        read("cursor", Self.cursorRule, decode)
    }

    /// Throws the collected field errors as one 422, if there are any.
    func finish() throws {
        guard errors.isEmpty else { throw ProblemError.validation(errors) }
    }
}
