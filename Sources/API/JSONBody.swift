public import Catalog
import Foundation
public import Hummingbird
public import JWT
import NIOCore

/// Reading JSON request bodies: media type, size, strict syntax.
public enum JSONBody {
    /// Bodies larger than this are refused with 413, unless `PROVISIONER_MAX_BODY_BYTES`
    /// sets another limit (which `RouteRegistry` applies before a handler reads the body).
    public static let maximumSize = 1 << 20
    /// The largest limit that setting may choose; also the bound of `collect` itself.
    public static let largestLimit = 64 << 20

    /// The body as a JSON object, for POST (`application/json`) or PATCH (also
    /// `application/merge-patch+json`).
    static func object(_ request: Request, allowMergePatch: Bool = false) async throws -> [String: JSONValue] {
        let bytes = try await collect(request, allowMergePatch: allowMergePatch)
        return try parseObject(bytes)
    }

    /// The raw body after media type and size checks.
    static func collect(_ request: Request, allowMergePatch: Bool = false) async throws -> [UInt8] {
        try checkMediaType(request, allowMergePatch: allowMergePatch)
        do {
            var buffer = try await request.body.collect(upTo: largestLimit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw ProblemError.payloadTooLarge(limit: largestLimit)
        }
    }

    /// The raw body of a POST that may have none (`POST /v1/jobs/{job}/cancel`): without
    /// `Content-Type` it must be empty; with one, as ``collect(_:allowMergePatch:)``.
    static func collectOptional(_ request: Request) async throws -> [UInt8] {
        guard request.headers[.contentType] == nil else { return try await collect(request) }
        let bytes: [UInt8]
        do {
            var buffer = try await request.body.collect(upTo: largestLimit)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw ProblemError.payloadTooLarge(limit: largestLimit)
        }
        if !bytes.isEmpty { try checkMediaType(request, allowMergePatch: false) }
        return bytes
    }

    static func parseObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        guard !bytes.isEmpty else { throw ProblemError.malformedJSON("the request body is empty") }
        let value: JSONValue
        do {
            value = try JSONCoding.decode(bytes)
        } catch {
            throw ProblemError.malformedJSON("the request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw ProblemError.validation(field: "", "the body must be a JSON object")
        }
        return object
    }

    static func checkMediaType(_ request: Request, allowMergePatch: Bool) throws {
        let contentType = request.headers[.contentType] ?? ""
        let essence = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        switch essence {
        case "application/json"?: return
        case "application/merge-patch+json"? where allowMergePatch: return
        default:
            throw ProblemError(
                .unsupportedMediaType, code: "unsupported_media_type",
                detail: allowMergePatch
                    ? "send application/json or application/merge-patch+json" : "send application/json"
            )
        }
    }
}
