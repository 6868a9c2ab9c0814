import HTTPTypes
public import Hummingbird
public import JWT

/// A JSON answer of the API, held as bytes so idempotency can store and replay it.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]

    init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], json: JSONValue) {
        self.status = status
        self.headers = headers
        self.headers[.contentType] = "application/json"
        self.body = JSONCoding.encode(json)
    }

    init(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func noContent() -> APIResponse {
        APIResponse(status: .noContent, headers: [:], body: [])
    }

    /// A single resource with its `ETag`.
    static func resource(
        _ json: JSONValue, version: Int64, status: HTTPResponse.Status = .ok, location: String? = nil
    )
        -> APIResponse
    {
        var headers = HTTPFields()
        headers[.eTag] = EntityTag.make(version)
        if let location { headers[.location] = location }
        return APIResponse(status: status, headers: headers, json: json)
    }

    /// A page of a list: `{"items": [...], "next_cursor": ...}`.
    static func page(_ items: [JSONValue], nextAfter: String?) -> APIResponse {
        APIResponse(
            json: .object([
                "items": .array(items),
                "next_cursor": nextAfter.map { .string(Cursor.encode($0)) } ?? .null,
            ])
        )
    }

    var response: Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIResponse: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}
