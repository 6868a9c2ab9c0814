/// A JWK set (RFC 7517 section 5) of public verification keys.
public struct JSONWebKeySet: Sendable {
    public var keys: [JSONWebKey]
    /// How many members of `keys` in the document were not usable (wrong
    /// type, private or symmetric material, weak or invalid key) and were left out.
    public private(set) var skippedKeyCount: Int
    /// Why each skipped key was refused, in document order.
    public private(set) var skippedKeyReasons: [JWTError]

    /// Parses `{"keys":[...]}` with the strict JSON parser. The document
    /// itself must be well-formed; individual keys that fail to parse are
    /// skipped and counted.
    public init(data: some Sequence<UInt8>) throws(JWTError) {
        let document: JSONValue
        do {
            document = try JSONCoding.decode(data)
        } catch {
            throw .invalidKey("JWK set is not valid JSON")
        }
        guard let entries = document.objectValue?["keys"]?.arrayValue else {
            throw .invalidKey("JWK set has no keys array")
        }
        var keys = [JSONWebKey]()
        var reasons = [JWTError]()
        for entry in entries {
            guard let object = entry.objectValue else {
                reasons.append(.invalidKey("key is not an object"))
                continue
            }
            do {
                keys.append(try JSONWebKey(json: object))
            } catch {
                reasons.append(error)
            }
        }
        self.keys = keys
        self.skippedKeyCount = reasons.count
        self.skippedKeyReasons = reasons
    }

    public init(keys: [JSONWebKey]) {
        self.keys = keys
        self.skippedKeyCount = 0
        self.skippedKeyReasons = []
    }

    /// Candidate keys for a token: those whose `kid` equals `id`, or every
    /// key when the token has no `kid`.
    public func key(id: String?) -> [JSONWebKey] {
        guard let id else { return keys }
        return keys.filter { $0.keyID == id }
    }
}
