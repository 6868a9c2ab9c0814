/// One refused field of a stack spec: the snake_case path of the field (`tenants[1].custom_domains[0]`)
/// and what is wrong with it. Mirrors the API's `{field, message}` validation errors.
public struct SpecFieldError: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
