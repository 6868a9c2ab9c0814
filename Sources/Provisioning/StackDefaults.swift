public import Rendering

/// The settings of rendered stacks that the catalog does not hold: images pinned to exact
/// version tags, how certificates are obtained, where Argo CD reads the GitOps repository, and the
/// size and backups of new stacks. One value per worker process.
public struct StackDefaults: Sendable, Hashable {
    /// The Odoo image repository; the tag is ``odooTags`` of the stack's Odoo version.
    public var odooRepository: String
    /// An exact build per Odoo version (each starts with its version, as the spec requires).
    public var odooTags: [String: String]
    public var redisImage: StackSpec.Image
    public var postgresImage: StackSpec.Image
    public var composePostgresImage: StackSpec.Image
    public var traefikImage: StackSpec.Image
    public var tls: StackSpec.TLS
    /// The namespace of each cluster's Traefik.
    public var ingressNamespace: String
    /// The ClusterSecretStore of a region is `<prefix><region>`.
    public var secretStorePrefix: String
    /// What Argo CD clones (an https URL), and the branch it follows.
    public var gitopsRepoURL: String
    public var gitopsRevision: String
    /// The size of every shared stack (its tenants have sizes of their own for quotas and
    /// database connection limits).
    public var sharedStackSize: String
    /// Dedicated stacks' CloudNativePG clusters.
    public var databaseInstances: Int
    public var databaseStorageGiB: Int
    public var backupSchedule: String
    /// Dedicated stacks' backups go under `<backupBucket>/<region>/<stack>`.
    public var backupBucket: String
    /// The egress allowance to a shared server named by DNS (an IPv4 address gets a /32).
    public var sharedDatabaseNetworkCIDR: String

    public init(
        odooRepository: String = "odoo",
        odooTags: [String: String] = ["16.0": "16.0-20250617", "17.0": "17.0-20250617", "18.0": "18.0-20250617"],
        redisImage: StackSpec.Image = StackSpec.Image(repository: "redis", tag: "7.4.2-alpine"),
        postgresImage: StackSpec.Image = StackSpec.Image(repository: "ghcr.io/cloudnative-pg/postgresql", tag: "16.9"),
        composePostgresImage: StackSpec.Image = StackSpec.Image(repository: "postgres", tag: "16.9-bookworm"),
        traefikImage: StackSpec.Image = StackSpec.Image(repository: "traefik", tag: "v3.7.15"),
        tls: StackSpec.TLS = StackSpec.TLS(mode: "resolver", resolver: "letsencrypt"),
        ingressNamespace: String = "traefik",
        secretStorePrefix: String = "vault-",
        gitopsRepoURL: String = "https://gitops.provisioner.invalid/stacks.git",
        gitopsRevision: String = "main",
        sharedStackSize: String = "l",
        databaseInstances: Int = 2,
        databaseStorageGiB: Int = 20,
        backupSchedule: String = "0 30 2 * * *",
        backupBucket: String = "s3://provisioner-backups",
        sharedDatabaseNetworkCIDR: String = "10.0.0.0/8"
    ) {
        self.odooRepository = odooRepository
        self.odooTags = odooTags
        self.redisImage = redisImage
        self.postgresImage = postgresImage
        self.composePostgresImage = composePostgresImage
        self.traefikImage = traefikImage
        self.tls = tls
        self.ingressNamespace = ingressNamespace
        self.secretStorePrefix = secretStorePrefix
        self.gitopsRepoURL = gitopsRepoURL
        self.gitopsRevision = gitopsRevision
        self.sharedStackSize = sharedStackSize
        self.databaseInstances = databaseInstances
        self.databaseStorageGiB = databaseStorageGiB
        self.backupSchedule = backupSchedule
        self.backupBucket = backupBucket
        self.sharedDatabaseNetworkCIDR = sharedDatabaseNetworkCIDR
    }
}
