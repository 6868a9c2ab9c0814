import Catalog
public import Hummingbird
import JWT

/// Writes problems as `application/problem+json` (RFC 9457).
enum ProblemRenderer {
    static let mediaType = "application/problem+json"

    static func render(_ problem: ProblemError, requestID: String?) -> [UInt8] {
        var object = problem.members
        object.merge([
            "type": .string("urn:provisioner:problem:\(problem.code)"),
            "title": .string(problem.title),
            "status": .number(Double(problem.status.code)),
            "detail": .string(problem.detail),
            "code": .string(problem.code),
        ]) { _, standard in standard }
        if let requestID { object["request_id"] = .string(requestID) }
        if !problem.errors.isEmpty || problem.code == "validation_failed" {
            object["errors"] = .array(
                problem.errors.map { .object(["field": .string($0.field), "message": .string($0.message)]) }
            )
        }
        return JSONCoding.encode(.object(object))
    }

    /// Puts the current request id into a stored problem body.
    static func stamp(_ body: [UInt8], requestID: String) -> [UInt8] {
        guard case .object(var object)? = try? JSONCoding.decode(body) else { return body }
        object["request_id"] = .string(requestID)
        return JSONCoding.encode(.object(object))
    }

    static func response(_ problem: ProblemError, requestID: String) -> Response {
        var headers = problem.headers
        headers[.contentType] = mediaType
        let body = render(problem, requestID: requestID)
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
