import Foundation
import Postgres

/// What placement needs to know about a tenant being created.
struct TenantPlacementRequest: Sendable {
    var organizationID: String
    /// The tenant's slug (recorded on a dedicated stack).
    var tenant: String
    var regionID: String
    /// The region's `shared_stack_capacity`, read under the region's share lock.
    var regionCapacity: Int
    var placement: Tenant.Placement
    var odooVersion: String
}

extension TenantStore {
    /// Places a tenant being created: a new dedicated stack, or the least-loaded shared stack of
    /// the region and Odoo version with room, or a new shared stack when all are full.
    static func place(_ request: TenantPlacementRequest, _ connection: PostgresConnection) throws -> TenantPlacement {
        switch request.placement {
        case .dedicated:
            let id = UUID()
            _ = try connection.execute(
                """
                INSERT INTO stacks (id, name, region_id, kind, odoo_version, organization_id, tenant, capacity, tenant_count)
                VALUES ($1::uuid, $2, $3::uuid, 'dedicated', $4, $5::uuid, $6, 1, 1)
                """,
                [
                    id, "dedicated-" + TenantDatabaseName.randomID(), request.regionID, request.odooVersion,
                    request.organizationID, request.tenant,
                ]
            )
            return TenantPlacement(stack: try StackStore.fetch(id, connection), createdStack: true, tenantsOnStack: 1, capacity: 1)
        case .shared:
            return try placeShared(request, connection)
        }
    }

    /// Shared placement, serialized per pool by the pool row's lock. Every statement after the
    /// lock sees the placements committed before it was granted (read committed takes a new
    /// snapshot per statement), so counts are exact and two creates never both grow the pool.
    static func placeShared(_ request: TenantPlacementRequest, _ connection: PostgresConnection) throws -> TenantPlacement {
        let capacity = request.regionCapacity
        _ = try connection.execute(
            """
            INSERT INTO shared_stack_pools (region_id, odoo_version) VALUES ($1::uuid, $2)
            ON CONFLICT (region_id, odoo_version) DO NOTHING
            """,
            [request.regionID, request.odooVersion]
        )
        _ = try connection.query(
            "SELECT 1 AS locked FROM shared_stack_pools WHERE region_id = $1::uuid AND odoo_version = $2 FOR UPDATE",
            [request.regionID, request.odooVersion]
        )
        let candidates = try connection.query(
            """
            SELECT id FROM stacks
            WHERE kind = 'shared' AND region_id = $1::uuid AND odoo_version = $2 AND tenant_count < $3
            ORDER BY tenant_count, id
            LIMIT 1
            FOR UPDATE
            """,
            [request.regionID, request.odooVersion, capacity]
        )
        if let candidate = candidates.first {
            let id = try candidate.decode(UUID.self, "id")
            // The guard repeats the capacity check under the row lock; the CHECK constraint
            // `stacks_tenant_count_check` is the last line.
            let updated = try connection.query(
                """
                UPDATE stacks SET tenant_count = tenant_count + 1, capacity = $2, updated_at = now()
                WHERE id = $1::uuid AND tenant_count < $2
                RETURNING tenant_count
                """,
                [id, capacity]
            )
            if let row = updated.first {
                return TenantPlacement(
                    stack: try StackStore.fetch(id, connection), createdStack: false,
                    tenantsOnStack: try row.decode(Int.self, "tenant_count"), capacity: capacity
                )
            }
        }
        let id = UUID()
        let major = request.odooVersion.split(separator: ".").first.map(String.init) ?? "odoo"
        _ = try connection.execute(
            """
            INSERT INTO stacks (id, name, region_id, kind, odoo_version, capacity, tenant_count)
            VALUES ($1::uuid, $2, $3::uuid, 'shared', $4, $5, 1)
            """,
            [id, "shared-\(major)-\(TenantDatabaseName.randomID())", request.regionID, request.odooVersion, capacity]
        )
        return TenantPlacement(stack: try StackStore.fetch(id, connection), createdStack: true, tenantsOnStack: 1, capacity: capacity)
    }
}
