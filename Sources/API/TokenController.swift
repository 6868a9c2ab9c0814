import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import JWT
import Logging

/// `/v1/organizations/{org}/tokens`: partner tokens minted by Provisioner, and
/// `/.well-known/jwks.json`, the public keys that verify them.
struct TokenController {
    let authority: PartnerTokenAuthority

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/.well-known/jwks.json", access: .open) { _, _ in
            var response = APIResponse(json: try await authority.publishedKeySet())
            response.headers[.cacheControl] = "public, max-age=60"
            return response
        }
        routes.add(.get, "/v1/organizations/{org}/tokens", access: .permission(.tokensWrite)) { request, context in
            let (after, limit) = try Cursor.identifierPageRequest(request)
            let page = try await authority.tokens.list(
                organization: try context.parameters.require("org"), after: after, limit: limit
            )
            return APIResponse(
                json: .object([
                    "items": .array(page.items.map(\.json)),
                    "next_cursor": page.nextAfter.flatMap(UUID.init(uuidString:)).map { .string(Cursor.encode(id: $0)) }
                        ?? .null,
                ])
            )
        }
        routes.add(
            .post, "/v1/organizations/{org}/tokens", access: .permission(.tokensWrite),
            replaySecret: replaySecret
        ) { request, context in
            let organization = try context.parameters.require("org")
            let principal = try context.requirePrincipal()
            let mint = try Self.readMint(try await JSONBody.object(request), principal: principal, now: Date())
            let (token, value) = try await authority.mint(
                organization: organization, name: mint.name, scopes: mint.scopes, tenants: mint.tenants,
                expiresAt: mint.expiresAt, createdBy: principal.subject, audit: try context.auditContext()
            )
            var json = token.json.objectValue ?? [:]
            json["token"] = .string(value)
            return .resource(
                .object(json), version: 1, status: .created,
                location: "/v1/organizations/\(organization)/tokens/\(token.id.uuidString.lowercased())"
            )
        }
        routes.add(.delete, "/v1/organizations/{org}/tokens/{token}", access: .permission(.tokensWrite)) {
            request, context in
            let organization = try context.parameters.require("org")
            guard let id = UUID(uuidString: try context.parameters.require("token")) else { throw ProblemError.notFound }
            if case .oneOf(let versions) = EntityTag.condition(request) {
                _ = try await authority.tokens.get(organization: organization, id: id)
                guard versions.contains(1) else { throw CatalogError.preconditionFailed }
            }
            try await authority.tokens.revoke(organization: organization, id: id, audit: try context.auditContext())
            context.logger.info("partner token revoked", metadata: ["token.id": "\(id.uuidString.lowercased())"])
            return .noContent()
        }
    }

    /// Idempotent replays of a mint: the token is taken out of the kept
    /// response and signed again from the catalog record on replay.
    var replaySecret: IdempotencyGuard.ReplaySecret {
        let authority = self.authority
        return IdempotencyGuard.ReplaySecret(
            conceal: { response in
                var kept = response
                guard var object = try? JSONCoding.decode(response.body).objectValue else { return kept }
                object["token"] = nil
                kept.body = JSONCoding.encode(.object(object))
                return kept
            },
            reveal: { replayed in
                guard replayed.status == .created, var object = try? JSONCoding.decode(replayed.body).objectValue,
                    let organization = object["organization"]?.stringValue,
                    let id = object["id"]?.stringValue.flatMap(UUID.init(uuidString:))
                else { return replayed }
                object["token"] = .string(try await authority.reissue(organization: organization, id: id))
                var response = replayed
                response.body = JSONCoding.encode(.object(object))
                return response
            }
        )
    }

    struct Mint {
        var name: String
        var scopes: [Permission]
        var tenants: [String]?
        var expiresAt: Date
    }

    /// The request of a mint, checked against the minter's own rights.
    static func readMint(_ body: [String: JSONValue], principal: Principal, now: Date) throws -> Mint {
        var fields = FieldReader(body)
        let name = fields.string("name", required: true, valid: NamePattern.isDisplayName, rule: RegionController.nameRule)
        let scopeNames = fields.stringSet(
            "scopes", valid: { Permission(rawValue: $0) != nil },
            rule: "must be an array of scope strings (e.g. \"brands:read\")", allowEmpty: false
        )
        if !fields.has("scopes") { fields.fail("scopes", "is required") }
        let scopes = (scopeNames ?? []).compactMap(Permission.init(rawValue:))
        for scope in scopes {
            if !PartnerTokenAuthority.grantableScopes.contains(scope) {
                fields.fail("scopes", "'\(scope.rawValue)' cannot be granted to a partner token")
            } else if !principal.permissions.contains(scope) {
                fields.fail("scopes", "'\(scope.rawValue)' is beyond the rights of the caller")
            }
        }
        let tenants = fields.stringSet(
            "tenants", valid: NamePattern.isSlug, rule: "must be an array of tenant slugs", allowEmpty: false
        )
        if let confined = principal.tenants {
            if let tenants {
                for tenant in tenants where !confined.contains(tenant) {
                    fields.fail("tenants", "'\(tenant)' is beyond the rights of the caller")
                }
            } else {
                fields.fail("tenants", "is required: the caller is confined to named tenants")
            }
        }
        var expiresAt = now.addingTimeInterval(PartnerTokenAuthority.defaultLifetime)
        if let text = fields.string("expires_at", valid: { Timestamp.parse($0) != nil }, rule: "must be an RFC 3339 date-time"),
            let requested = Timestamp.parse(text)
        {
            if requested.timeIntervalSince(now) < 60 {
                fields.fail("expires_at", "must be at least a minute ahead")
            } else if requested.timeIntervalSince(now) > PartnerTokenAuthority.maximumLifetime + 60 {
                fields.fail("expires_at", "must be at most 90 days ahead")
            }
            expiresAt = requested
        }
        fields.refuseReadOnly(["id", "organization", "created_at", "created_by", "last_used_at", "token"])
        try fields.validate()
        guard let name else { throw ProblemError.validation([]) }
        return Mint(
            name: name, scopes: scopes, tenants: tenants,
            expiresAt: Date(timeIntervalSince1970: expiresAt.timeIntervalSince1970.rounded(.down))
        )
    }
}

extension PartnerToken {
    /// The wire form: what the token grants, never the token itself.
    var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()),
            "organization": .string(organization),
            "name": .string(name),
            "scopes": .array(scopes.map(JSONValue.string)),
            "tenants": tenants.map { .array($0.map(JSONValue.string)) } ?? .null,
            "expires_at": .string(Timestamp.format(expiresAt)),
            "created_at": .string(Timestamp.format(createdAt)),
            "created_by": .string(createdBy),
            "last_used_at": lastUsedAt.map { .string(Timestamp.format($0)) } ?? .null,
        ])
    }
}
