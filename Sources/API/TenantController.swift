import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import JWT
import Jobs
import Postgres

/// `/v1/organizations/{org}/tenants` and `/v1/organizations/{org}/usage`: Odoo instances and the
/// plan they count against.
///
/// Every write records the caller's intent and enqueues the job that carries it out in one
/// transaction (the API never does the work inline), and answers the job (`202` + `Location`),
/// except a PATCH, which answers the changed tenant (its `last_job` is the `tenant.update` job).
/// A token confined to tenants sees only those in lists, gets 404 for the others (checked by the
/// route registry), and may create only tenants it names (403 otherwise).
struct TenantController {
    let pool: PostgresPool
    let store: TenantStore
    let queue: JobQueue

    func addRoutes(to routes: RouteRegistry) {
        let collection = "/v1/organizations/{org}/tenants"
        let item = "/v1/organizations/{org}/tenants/{tenant}"
        routes.add(.get, collection, access: .permission(.tenantsRead)) { request, context in
            let principal = try context.requirePrincipal()
            var query = try Self.listQuery(request, organization: try context.parameters.require("org"))
            query.tenants = principal.tenants
            let page = try await store.list(query)
            return APIResponse(
                json: .object([
                    "items": .array(page.items.map(\.json)),
                    "next_cursor": page.nextAfter.map { .string(Cursor.encode(tenant: $0)) } ?? .null,
                ])
            )
        }
        routes.add(.post, collection, access: .permission(.tenantsWrite)) { request, context in
            let principal = try context.requirePrincipal()
            let tenantRequest = try await Self.tenantRequest(request, organization: try context.parameters.require("org"))
            if !principal.canAccess(tenant: tenantRequest.slug) {
                throw ProblemError.forbidden("this token is confined to other tenants")
            }
            let origin = try JobOrigin(context)
            // The job's id is chosen first, so the tenant row and its create audit record name it.
            var stamped = tenantRequest
            stamped.job = TimeOrderedID.make()
            let creation = stamped
            let job = try await pool.transaction { connection in
                let (tenant, _) = try TenantStore.create(creation, audit: origin.audit, on: connection)
                var provision = origin.request(.provision, for: tenant)
                provision.id = creation.job
                return try JobQueue.enqueue(provision, on: connection)
            }
            return try await accepted(job)
        }
        routes.add(.get, item, access: .permission(.tenantsRead)) { _, context in
            let tenant = try await store.get(
                organization: try context.parameters.require("org"), slug: try context.parameters.require("tenant")
            )
            return .resource(tenant.json, version: tenant.version)
        }
        routes.add(.patch, item, access: .permission(.tenantsWrite)) { request, context in
            let (organization, slug) = try Self.names(context)
            let condition = EntityTag.condition(request)
            let change = try await Self.change(request)
            let origin = try JobOrigin(context)
            let (tenant, _) = try await pool.transaction { connection in
                try TenantStore.change(
                    organization: organization, slug: slug, change, condition: condition, audit: origin.audit,
                    on: connection
                ) { tenant, kind in
                    try JobQueue.enqueue(origin.request(kind, for: tenant), on: connection)
                }
            }
            return .resource(tenant.json, version: tenant.version)
        }
        routes.add(.delete, item, access: .permission(.tenantsWrite)) { request, context in
            let (organization, slug) = try Self.names(context)
            let condition = EntityTag.condition(request)
            let origin = try JobOrigin(context)
            let job = try await pool.transaction { connection in
                try TenantStore.requestDeletion(
                    organization: organization, slug: slug, condition: condition, audit: origin.audit, on: connection
                ) { tenant, kind in
                    try JobQueue.enqueue(origin.request(kind, for: tenant), on: connection)
                }.job
            }
            return try await accepted(job)
        }
        typealias Action =
            @Sendable (
                _ organization: String, _ slug: String, _ audit: AuditContext, _ connection: PostgresConnection,
                _ enqueue: TenantStore.JobEnqueuer
            ) throws -> (tenant: Tenant, job: UUID)
        let actions: [(name: String, perform: Action)] = [
            ("suspend", { try TenantStore.suspend(organization: $0, slug: $1, audit: $2, on: $3, enqueue: $4) }),
            ("resume", { try TenantStore.resume(organization: $0, slug: $1, audit: $2, on: $3, enqueue: $4) }),
        ]
        for action in actions {
            routes.add(.post, "\(item)/\(action.name)", access: .permission(.tenantsActions)) { request, context in
                let (organization, slug) = try Self.names(context)
                try await Self.refuseBody(request)
                let origin = try JobOrigin(context)
                let job = try await pool.transaction { connection in
                    try action.perform(organization, slug, origin.audit, connection) { tenant, kind in
                        try JobQueue.enqueue(origin.request(kind, for: tenant), on: connection)
                    }.job
                }
                return try await accepted(job)
            }
        }
        routes.add(.get, "/v1/organizations/{org}/usage", access: .permission(.orgsRead)) { _, context in
            let usage = try await store.usage(organization: try context.parameters.require("org"))
            return APIResponse(json: usage.json)
        }
    }

    /// `202 Accepted` with the job, as `GET /v1/jobs/{job}` shows it, and its URL in `Location`.
    func accepted(_ id: UUID) async throws -> APIResponse {
        let job = try await queue.versionedJob(id)
        return .resource(
            job.json, version: job.version, status: .accepted, location: "/v1/jobs/\(id.uuidString.lowercased())"
        )
    }

    /// Who asked, from which request: the audit context and the fields of the jobs they enqueue.
    struct JobOrigin: Sendable {
        var audit: AuditContext
        var subject: String
        var requestID: String

        init(_ context: AppRequestContext) throws {
            audit = try context.auditContext()
            subject = try context.requirePrincipal().subject
            requestID = context.requestID
        }

        /// A lifecycle job of `tenant`: payload `{"tenant": "<id>"}`, one concurrency key per tenant.
        func request(_ kind: TenantJobKind, for tenant: Tenant) -> JobRequest {
            JobRequest(
                kind: kind.rawValue, payload: [TenantJobKind.payloadKey: .string(tenant.id.uuidString.lowercased())],
                queue: "default", concurrencyKey: TenantJobKind.concurrencyKey(tenant: tenant.id),
                organization: tenant.organization, tenant: tenant.slug, stack: tenant.stack?.uuidString.lowercased(),
                createdBy: subject, requestID: requestID
            )
        }
    }

    static func names(_ context: AppRequestContext) throws -> (organization: String, slug: String) {
        (try context.parameters.require("org"), try context.parameters.require("tenant"))
    }

    /// Fields a caller sees but never writes.
    static let readOnly = [
        "organization", "status", "suspended", "hostnames", "stack", "database", "last_job", "error", "created_at",
        "updated_at",
    ]

    static let environmentRule = "must be one of \(Tenant.Environment.allCases.map(\.rawValue).joined(separator: ", "))"
    static let placementRule = "must be one of \(Tenant.Placement.allCases.map(\.rawValue).joined(separator: ", "))"
    static let sizeRule = "must be one of \(TenantSize.all.map(\.name).joined(separator: ", "))"
    static let versionRule = "must be one of \(Tenant.odooVersions.joined(separator: ", "))"
    static let domainsRule = "must be an array of distinct lowercase DNS names"

    /// The body of a create; every broken rule is one 422 field error.
    static func tenantRequest(_ request: Request, organization: String) async throws -> TenantRequest {
        var fields = FieldReader(try await JSONBody.object(request))
        let slug = fields.string("slug", required: true, valid: NamePattern.isSlug, rule: RegionController.slugRule)
        let brand = fields.string("brand", required: true, valid: NamePattern.isSlug, rule: "must be a brand slug")
        let environment = fields.string(
            "environment", required: true, valid: { Tenant.Environment(rawValue: $0) != nil }, rule: environmentRule
        )
        let region = fields.nullableString("region", valid: NamePattern.isSlug, rule: "must be a region slug")
        let placement = fields.string(
            "placement", required: true, valid: { Tenant.Placement(rawValue: $0) != nil }, rule: placementRule
        )
        let size = fields.string("size", required: true, valid: { TenantSize.named($0) != nil }, rule: sizeRule)
        let odooVersion = fields.string(
            "odoo_version", required: true, valid: { Tenant.odooVersions.contains($0) }, rule: versionRule
        )
        let domains = fields.stringSet("custom_domains", valid: NamePattern.isDomainName, rule: domainsRule)
        if let domains, domains.count > TenantRequest.maximumCustomDomains {
            fields.fail("custom_domains", "at most \(TenantRequest.maximumCustomDomains) domains")
        }
        fields.refuseReadOnly(readOnly)
        try fields.validate()
        guard let slug, let brand, let environment = environment.flatMap(Tenant.Environment.init(rawValue:)),
            let placement = placement.flatMap(Tenant.Placement.init(rawValue:)), let size, let odooVersion
        else { throw ProblemError.validation([]) }
        return TenantRequest(
            organization: organization, slug: slug, brand: brand, environment: environment, region: region ?? nil,
            placement: placement, size: size, odooVersion: odooVersion, customDomains: domains ?? []
        )
    }

    /// The merge patch of a PATCH: only `size`, `custom_domains` (`null` clears them) and
    /// `odoo_version`; anything else, read-only or unknown, is a 422 field error.
    static func change(_ request: Request) async throws -> TenantChange {
        var fields = FieldReader(try await JSONBody.object(request, allowMergePatch: true))
        let size = fields.string("size", valid: { TenantSize.named($0) != nil }, rule: sizeRule)
        let odooVersion = fields.string("odoo_version", valid: { Tenant.odooVersions.contains($0) }, rule: versionRule)
        let domains = fields.nullableStringSet("custom_domains", valid: NamePattern.isDomainName, rule: domainsRule)
        if let domains = domains ?? nil, domains.count > TenantRequest.maximumCustomDomains {
            fields.fail("custom_domains", "at most \(TenantRequest.maximumCustomDomains) domains")
        }
        fields.refuseReadOnly(["slug", "brand", "environment", "region", "placement"] + readOnly)
        try fields.validate()
        return TenantChange(size: size, customDomains: domains.map { $0 ?? [] }, odooVersion: odooVersion)
    }

    /// An action takes no fields: no body, or an empty JSON object.
    static func refuseBody(_ request: Request) async throws {
        let bytes = try await JSONBody.collectOptional(request)
        guard !bytes.isEmpty else { return }
        var fields = FieldReader(try JSONBody.parseObject(bytes))
        try fields.validate()
    }

    /// Filters and page of the list; every bad value is a 422 field error.
    static func listQuery(_ request: Request, organization: String) throws -> TenantListQuery {
        var reader = QueryParameterReader(request)
        var query = TenantListQuery(organization: organization)
        if let limit = reader.limit() {
            query.limit = limit
        }
        query.after = reader.cursor(Cursor.decodeTenantPosition)
        query.brand = reader.read("brand", "must be a brand slug") { NamePattern.isSlug($0) ? $0 : nil }
        query.environment = reader.read("environment", environmentRule) { Tenant.Environment(rawValue: $0) }
        query.region = reader.read("region", "must be a region slug") { NamePattern.isSlug($0) ? $0 : nil }
        query.status = reader.read(
            "status", "must be one of \(Tenant.Status.allCases.map(\.rawValue).joined(separator: ", "))"
        ) { Tenant.Status(rawValue: $0) }
        // Deleted tenants are kept for audit: listed only when asked for by status.
        query.includeDeleted = query.status == .deleted
        try reader.finish()
        return query
    }
}
