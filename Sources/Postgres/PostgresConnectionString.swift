internal import CLibPQ

/// Rewriting libpq connection strings without taking them apart by hand.
public enum PostgresConnectionString {
    /// `connectionString` (a URI or key/value string, multi-host lists included) parsed by libpq
    /// (`PQconninfoParse`) and written back in key/value form with `overrides` replacing or adding
    /// settings, e.g. `["user": role, "password": secret, "dbname": database]` to reach another
    /// database as another role on the same server(s) with the same TLS and timeout settings.
    ///
    /// The error never quotes the string, which may hold a password.
    public static func replacing(_ connectionString: String, with overrides: [String: String]) throws(DatabaseError) -> String {
        let settings = try parse(connectionString)
        var merged = settings.filter { overrides[$0.keyword] == nil }
        merged += overrides.sorted { $0.key < $1.key }.map { (keyword: $0.key, value: $0.value) }
        return merged.map { "\($0.keyword)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// The value the string sets for `keyword` (e.g. `host`, `port`), or `nil`.
    public static func value(of keyword: String, in connectionString: String) throws(DatabaseError) -> String? {
        try parse(connectionString).first { $0.keyword == keyword }?.value
    }

    /// The settings the string sets, in libpq's order of keywords.
    static func parse(_ connectionString: String) throws(DatabaseError) -> [(keyword: String, value: String)] {
        guard !connectionString.utf8.contains(0) else {
            throw DatabaseError(kind: .connectionFailed, serverMessage: "a connection string cannot contain a NUL byte")
        }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &message) else {
            if let message {
                PQfreemem(message)
            }
            // libpq's message may quote the string (and its password): it is not passed on.
            throw DatabaseError(kind: .connectionFailed, serverMessage: "not a valid libpq connection string")
        }
        defer { PQconninfoFree(options) }
        var settings: [(keyword: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                settings.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        return settings
    }

    /// A key/value value in single quotes, with `\` and `'` escaped by a backslash.
    static func quote(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "\\" || character == "'" {
                quoted.append("\\")
            }
            quoted.append(character)
        }
        return quoted + "'"
    }
}
