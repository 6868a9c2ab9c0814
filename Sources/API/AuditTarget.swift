import HTTPTypes

/// What a route acts on, read off its method and path template, for the audit
/// events of refused requests (successful writes are recorded by the stores,
/// with the same action names).
///
/// `POST /v1/regions` is `region.create` on a `region`; `PATCH
/// /v1/organizations/{org}/brands/{brand}` is `brand.update` on brand `{brand}`
/// of organization `{org}`; `POST .../tenants/{tenant}/suspend` is
/// `tenant.suspend`; reads are `.list` and `.read`.
struct AuditTarget: Equatable {
    var action: String
    var type: String
    var id: String?
    /// The `{org}` of the path, when the route is inside an organization.
    var organization: String?

    init(action: String, type: String, id: String?, organization: String?) {
        self.action = action
        self.type = type
        self.id = id
        self.organization = organization
    }

    /// `parameter` gives the value of a `{name}` path segment.
    init(method: HTTPRequest.Method, template: String, parameter: (String) -> String?) {
        let segments = template.split(separator: "/").map(String.init).filter { $0 != "v1" }
        var type = "resource"
        var id: String?
        var verb: String?
        var lastWasCollection = false
        for segment in segments {
            if let name = Self.parameterName(segment) {
                id = parameter(name)
                lastWasCollection = false
            } else if !lastWasCollection && (id == nil || segment.hasSuffix("s")) {
                // A collection: `regions`, `brands`, `audit-events`.
                type = Self.singular(segment)
                id = nil
                verb = nil
                lastWasCollection = true
            } else {
                // An operation on what comes before it: `suspend`, `usage`, `artifacts/diff`.
                verb = segment
                lastWasCollection = false
            }
        }
        let action: String
        if let verb {
            action = verb
        } else if id != nil {
            switch method {
            case .get, .head: action = "read"
            case .patch, .put: action = "update"
            case .delete: action = "delete"
            default: action = method.rawValue.lowercased()
            }
        } else {
            action = method == .post ? "create" : "list"
        }
        let organization = segments.contains("{org}") ? parameter("org") : nil
        self.init(action: "\(type).\(action)", type: type, id: id, organization: organization)
    }

    private static func parameterName(_ segment: String) -> String? {
        guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return nil }
        return String(segment.dropFirst().dropLast())
    }

    private static func singular(_ collection: String) -> String {
        collection.hasSuffix("s") ? String(collection.dropLast()) : collection
    }
}
