public import Foundation

/// The typed input of a stack render, decoded from snake_case JSON. Every string is checked by
/// `validate()` before anything reaches a template: a value that does not match its strict pattern
/// is refused with a field error, never escaped.
public struct StackSpec: Sendable, Hashable, Codable {
    public var stackID: UUID
    public var stackName: String
    /// `shared` or `dedicated`.
    public var kind: String
    public var region: Region
    /// `16.0`, `17.0` or `18.0`.
    public var odooVersion: String
    public var image: Image
    public var redisImage: Image
    /// `xs`, `s`, `m`, `l` or `xl` (see `SizeProfile`).
    public var size: String
    public var tenants: [Tenant]
    public var plan: PlanLimits
    public var tls: TLS
    public var secretStore: String
    public var gitops: GitOps
    public var database: Database
    public var compose: Compose

    public init(
        stackID: UUID, stackName: String, kind: String, region: Region, odooVersion: String, image: Image, redisImage: Image,
        size: String, tenants: [Tenant], plan: PlanLimits, tls: TLS, secretStore: String, gitops: GitOps, database: Database,
        compose: Compose
    ) {
        self.stackID = stackID
        self.stackName = stackName
        self.kind = kind
        self.region = region
        self.odooVersion = odooVersion
        self.image = image
        self.redisImage = redisImage
        self.size = size
        self.tenants = tenants
        self.plan = plan
        self.tls = tls
        self.secretStore = secretStore
        self.gitops = gitops
        self.database = database
        self.compose = compose
    }

    enum CodingKeys: String, CodingKey {
        case stackID = "stack_id"
        case stackName = "stack_name"
        case kind, region
        case odooVersion = "odoo_version"
        case image
        case redisImage = "redis_image"
        case size, tenants, plan, tls
        case secretStore = "secret_store"
        case gitops, database, compose
    }

    /// Where the stack runs.
    public struct Region: Sendable, Hashable, Codable {
        public var slug: String
        public var baseDomain: String
        /// The namespace of the cluster's Traefik, allowed through the NetworkPolicy to reach web.
        public var ingressNamespace: String

        public init(slug: String, baseDomain: String, ingressNamespace: String) {
            self.slug = slug
            self.baseDomain = baseDomain
            self.ingressNamespace = ingressNamespace
        }

        enum CodingKeys: String, CodingKey {
            case slug
            case baseDomain = "base_domain"
            case ingressNamespace = "ingress_namespace"
        }
    }

    /// A container image pinned to an exact version tag.
    public struct Image: Sendable, Hashable, Codable {
        public var repository: String
        public var tag: String

        public init(repository: String, tag: String) {
            self.repository = repository
            self.tag = tag
        }

        public var reference: String { "\(repository):\(tag)" }
    }

    /// One tenant served by the stack.
    public struct Tenant: Sendable, Hashable, Codable {
        public var slug: String
        public var organization: String
        public var customDomains: [String]
        public var database: String
        public var role: String
        /// Whether the stack routes the tenant's hostnames (`false` while the tenant is suspended
        /// or being deleted: its workloads and database stay, its routes go). Absent means `true`.
        public var routed: Bool

        public init(
            slug: String, organization: String, customDomains: [String], database: String, role: String, routed: Bool = true
        ) {
            self.slug = slug
            self.organization = organization
            self.customDomains = customDomains
            self.database = database
            self.role = role
            self.routed = routed
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            slug = try container.decode(String.self, forKey: .slug)
            organization = try container.decode(String.self, forKey: .organization)
            customDomains = try container.decode([String].self, forKey: .customDomains)
            database = try container.decode(String.self, forKey: .database)
            role = try container.decode(String.self, forKey: .role)
            routed = try container.decodeIfPresent(Bool.self, forKey: .routed) ?? true
        }

        enum CodingKeys: String, CodingKey {
            case slug, organization
            case customDomains = "custom_domains"
            case database, role, routed
        }
    }

    /// The organization's plan limits that bound the namespace quota.
    public struct PlanLimits: Sendable, Hashable, Codable {
        public var cpuMillicores: Int
        public var memoryMiB: Int
        public var storageGiB: Int

        public init(cpuMillicores: Int, memoryMiB: Int, storageGiB: Int) {
            self.cpuMillicores = cpuMillicores
            self.memoryMiB = memoryMiB
            self.storageGiB = storageGiB
        }

        enum CodingKeys: String, CodingKey {
            case cpuMillicores = "cpu_millicores"
            case memoryMiB = "memory_mib"
            case storageGiB = "storage_gib"
        }
    }

    /// How certificates are obtained: a Traefik certificate resolver, or a cert-manager issuer.
    public struct TLS: Sendable, Hashable, Codable {
        /// `resolver` or `cert-manager`.
        public var mode: String
        /// The Traefik certificate resolver (mode `resolver`).
        public var resolver: String?
        /// The cert-manager ClusterIssuer (mode `cert-manager`).
        public var issuer: String?

        public init(mode: String, resolver: String? = nil, issuer: String? = nil) {
            self.mode = mode
            self.resolver = resolver
            self.issuer = issuer
        }
    }

    /// Where Argo CD finds the rendered directory.
    public struct GitOps: Sendable, Hashable, Codable {
        public var repoURL: String
        public var path: String
        public var revision: String

        public init(repoURL: String, path: String, revision: String) {
            self.repoURL = repoURL
            self.path = path
            self.revision = revision
        }

        enum CodingKeys: String, CodingKey {
            case repoURL = "repo_url"
            case path, revision
        }
    }

    /// The stack's PostgreSQL: a CloudNativePG cluster of its own (dedicated) or the region's
    /// shared server (shared). `role` is the role Odoo connects as.
    public struct Database: Sendable, Hashable, Codable {
        public var role: String
        /// Dedicated: the PostgreSQL image of the CloudNativePG cluster.
        public var image: Image?
        public var instances: Int?
        public var storageGiB: Int?
        /// Dedicated: six-field cron (seconds first), as CloudNativePG expects.
        public var backupSchedule: String?
        public var retentionDays: Int?
        /// Dedicated: `s3://bucket/path` for the Barman object store.
        public var backupDestination: String?
        /// Shared: the region's shared server.
        public var host: String?
        public var port: Int?
        /// Shared: the server's network, for the egress NetworkPolicy (IPv4 CIDR).
        public var networkCIDR: String?

        public init(
            role: String, image: Image? = nil, instances: Int? = nil, storageGiB: Int? = nil, backupSchedule: String? = nil,
            retentionDays: Int? = nil, backupDestination: String? = nil, host: String? = nil, port: Int? = nil, networkCIDR: String? = nil
        ) {
            self.role = role
            self.image = image
            self.instances = instances
            self.storageGiB = storageGiB
            self.backupSchedule = backupSchedule
            self.retentionDays = retentionDays
            self.backupDestination = backupDestination
            self.host = host
            self.port = port
            self.networkCIDR = networkCIDR
        }

        enum CodingKeys: String, CodingKey {
            case role, image, instances
            case storageGiB = "storage_gib"
            case backupSchedule = "backup_schedule"
            case retentionDays = "retention_days"
            case backupDestination = "backup_destination"
            case host, port
            case networkCIDR = "network_cidr"
        }
    }

    /// Settings used only by the single-host outputs (Compose and the Traefik file provider).
    public struct Compose: Sendable, Hashable, Codable {
        /// `host:port` Traefik forwards HTTP to (`odoo-web:8069` in the Compose file).
        public var webBackend: String
        /// `host:port` Traefik forwards `/websocket` to (`odoo-web:8072`).
        public var websocketBackend: String
        public var traefikImage: Image
        public var postgresImage: Image

        public init(webBackend: String, websocketBackend: String, traefikImage: Image, postgresImage: Image) {
            self.webBackend = webBackend
            self.websocketBackend = websocketBackend
            self.traefikImage = traefikImage
            self.postgresImage = postgresImage
        }

        enum CodingKeys: String, CodingKey {
            case webBackend = "web_backend"
            case websocketBackend = "websocket_backend"
            case traefikImage = "traefik_image"
            case postgresImage = "postgres_image"
        }
    }
}

extension StackSpec {
    /// Decodes a spec from JSON (snake_case keys).
    public static func decode(from data: Data) throws -> StackSpec {
        try JSONDecoder().decode(StackSpec.self, from: data)
    }

    /// A tenant's default hostname: `{tenant}.{org}.{region base_domain}`.
    public static func defaultHostname(tenant: Tenant, baseDomain: String) -> String {
        "\(tenant.slug).\(tenant.organization).\(baseDomain)"
    }
}
