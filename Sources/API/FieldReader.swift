public import Catalog
public import JWT

/// Reads typed fields out of a JSON object, collecting every field error at
/// once, and refusing fields the operation does not take.
struct FieldReader {
    private let object: [String: JSONValue]
    private var consumed: Set<String> = []
    private(set) var errors: [FieldError] = []

    init(_ object: [String: JSONValue]) {
        self.object = object
    }

    /// Whether the body names `field` at all (a merge patch changes only what it names).
    func has(_ field: String) -> Bool { object[field] != nil }

    /// Whether the body sets `field` to JSON `null`.
    func isNull(_ field: String) -> Bool { object[field] == .null }

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field: field, message: message))
    }

    /// A string field; `nil` when absent (and an error when required) or invalid.
    mutating func string(
        _ field: String, required: Bool = false, valid: (String) -> Bool = { _ in true }, rule: String = "is not valid"
    ) -> String? {
        consumed.insert(field)
        guard let value = object[field] else {
            if required { fail(field, "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(field, "must be a string")
            return nil
        }
        guard valid(text) else {
            fail(field, rule)
            return nil
        }
        return text
    }

    /// A string field that may be `null` to clear it: `.some(nil)` means cleared.
    mutating func nullableString(
        _ field: String, valid: (String) -> Bool = { _ in true }, rule: String = "is not valid"
    ) -> String?? {
        if isNull(field) {
            consumed.insert(field)
            return .some(nil)
        }
        guard has(field) else {
            consumed.insert(field)
            return .none
        }
        guard let text = string(field, valid: valid, rule: rule) else { return .none }
        return .some(text)
    }

    /// An integer field within `range`.
    mutating func integer(_ field: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        consumed.insert(field)
        guard let value = object[field] else {
            if required { fail(field, "is required") }
            return nil
        }
        guard case .number(let number) = value, number.rounded(.towardZero) == number,
            number >= Double(range.lowerBound), number <= Double(range.upperBound)
        else {
            fail(field, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(number)
    }

    /// An array of distinct strings, each valid.
    mutating func stringSet(
        _ field: String, valid: (String) -> Bool, rule: String, allowEmpty: Bool = true
    ) -> [String]? {
        consumed.insert(field)
        guard let value = object[field] else { return nil }
        guard case .array(let elements) = value else {
            fail(field, "must be an array of strings")
            return nil
        }
        var result: [String] = []
        for element in elements {
            guard case .string(let text) = element, valid(text) else {
                fail(field, rule)
                return nil
            }
            guard !result.contains(text) else {
                fail(field, "must not repeat '\(text)'")
                return nil
            }
            result.append(text)
        }
        if !allowEmpty && result.isEmpty {
            fail(field, "must not be empty")
            return nil
        }
        return result
    }

    /// An array of distinct strings that may be `null` (a merge patch clearing it): `.some(nil)`
    /// means cleared.
    mutating func nullableStringSet(_ field: String, valid: (String) -> Bool, rule: String) -> [String]?? {
        if isNull(field) {
            consumed.insert(field)
            return .some(nil)
        }
        guard let values = stringSet(field, valid: valid, rule: rule) else { return .none }
        return .some(values)
    }

    /// Marks fields that are part of the resource but not writable here.
    mutating func refuseReadOnly(_ fields: [String]) {
        for field in fields where object[field] != nil {
            consumed.insert(field)
            fail(field, "is read-only")
        }
    }

    /// Every field error, including one per field the operation does not know.
    mutating func finish() -> [FieldError] {
        for field in object.keys.sorted() where !consumed.contains(field) {
            fail(field, "is not a known field")
        }
        return errors
    }

    /// Throws 422 with every collected field error, if any.
    mutating func validate() throws {
        let errors = finish()
        guard errors.isEmpty else { throw ProblemError.validation(errors) }
    }
}
