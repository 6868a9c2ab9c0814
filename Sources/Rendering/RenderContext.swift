import Foundation

/// The values templates see, built from a validated spec. Every string in here is either a
/// validated spec value or text derived from validated values by this file; templates insert them
/// without escaping (see `TemplateSet`).
struct RenderContext {
    let isDedicated: Bool
    let usesCertManager: Bool
    /// Whether any hostname is routed (a dedicated stack whose tenant is suspended has none).
    let isRouted: Bool
    let values: [String: Any]
    /// `values` as templates are rendered with (see `RenderContext+Mustache.swift`).
    let mustacheValues: [String: Any]
    private let size: SizeProfile
    private let spec: StackSpec

    init(spec: StackSpec, size: SizeProfile) {
        self.spec = spec
        self.size = size
        isDedicated = spec.kind == "dedicated"
        usesCertManager = spec.tls.mode == "cert-manager"
        isRouted = spec.tenants.contains(where: \.routed)
        values = Self.build(spec: spec, size: size)
        mustacheValues = values.mapValues(Self.printed)
    }

    /// The namespace of the stack's Kubernetes objects.
    static func namespace(of spec: StackSpec) -> String { "odoo-\(spec.stackName)" }

    private static func build(spec: StackSpec, size: SizeProfile) -> [String: Any] {
        let dedicated = spec.kind == "dedicated"
        let stack = spec.stackName
        let secretPrefix = "provisioner/stacks/\(spec.stackID.uuidString.lowercased())"

        let tenants = spec.tenants.sorted { ($0.organization, $0.slug) < ($1.organization, $1.slug) }
        var hostnames: [[String: Any]] = []
        var tenantValues: [[String: Any]] = []
        for tenant in tenants {
            let key = "\(tenant.organization)-\(tenant.slug)"
            let hosts = [StackSpec.defaultHostname(tenant: tenant, baseDomain: spec.region.baseDomain)] + tenant.customDomains.sorted()
            let hostValues: [[String: Any]] = hosts.enumerated().map { index, host in
                [
                    "host": host, "router": "\(stack)-\(key)-\(index)", "tenant_key": key, "database": tenant.database,
                    "middleware": "\(stack)-\(key)-database",
                ]
            }
            if tenant.routed {
                hostnames += hostValues
            }
            tenantValues.append([
                "slug": tenant.slug, "organization": tenant.organization, "key": key, "database": tenant.database, "role": tenant.role,
                "hostnames": hostValues, "default_hostname": hosts[0], "job_name": "tenant-init-\(StackRenderer.shortHash(tenant.database))",
            ])
        }
        let allHosts = hostnames.compactMap { $0["host"] as? String }.sorted()
        let databases = tenants.map(\.database).sorted()

        var values: [String: Any] = [
            "stack_id": spec.stackID.uuidString.lowercased(),
            "stack_name": stack,
            "namespace": namespace(of: spec),
            "kind": spec.kind,
            "shared": !dedicated,
            "dedicated": dedicated,
            "region": spec.region.slug,
            "base_domain": spec.region.baseDomain,
            "ingress_namespace": spec.region.ingressNamespace,
            "odoo_version": spec.odooVersion,
            "odoo_image": spec.image.reference,
            "redis_image": spec.redisImage.reference,
            "size": size.name,
            "tenants": tenantValues,
            "hostnames": hostnames,
            "all_hostnames": allHosts,
            "routed": !hostnames.isEmpty,
            "dbfilter": "^(" + databases.joined(separator: "|") + ")$",
            "secret_store": spec.secretStore,
            "secret_key_database": "\(secretPrefix)/database",
            "secret_key_redis": "\(secretPrefix)/redis",
            "secret_key_backup": "\(secretPrefix)/backup",
            "db_role": spec.database.role,
            "gitops_repo_url": spec.gitops.repoURL,
            "gitops_path": spec.gitops.path,
            "gitops_revision": spec.gitops.revision,
            "web_backend": spec.compose.webBackend,
            "websocket_backend": spec.compose.websocketBackend,
            "traefik_image": spec.compose.traefikImage.reference,
            "postgres_image": spec.compose.postgresImage.reference,
            // plan quota
            "quota_cpu": "\(spec.plan.cpuMillicores)m",
            "quota_memory": "\(spec.plan.memoryMiB)Mi",
            "quota_storage": "\(spec.plan.storageGiB)Gi",
            // size
            "web_cpu_request": "\(size.webCPURequestMillicores)m",
            "web_cpu_limit": "\(size.webCPULimitMillicores)m",
            "web_memory_request": "\(size.webMemoryRequestMiB)Mi",
            "web_memory_limit": "\(size.webMemoryLimitMiB)Mi",
            "compose_web_cpus": decimal(millicores: size.webCPULimitMillicores),
            "compose_web_cpus_reserved": decimal(millicores: size.webCPURequestMillicores),
            "web_memory_request_mib": size.webMemoryRequestMiB,
            "web_memory_limit_mib": size.webMemoryLimitMiB,
            "database_memory_mib": size.databaseMemoryMiB,
            "redis_memory_mib": size.redisMemoryMiB,
            "redis_memory_limit_mib": size.redisMemoryMiB * 2,
            "workers": size.workers,
            "cron_threads": size.cronThreads,
            "min_replicas": size.minReplicas,
            "max_replicas": size.maxReplicas,
            "db_maxconn": size.dbMaxConnPerProcess,
            "db_connection_limit": size.databaseConnectionLimit,
            "database_cpu": "\(size.databaseCPUMillicores)m",
            "database_memory": "\(size.databaseMemoryMiB)Mi",
            "compose_database_cpus": decimal(millicores: size.databaseCPUMillicores),
            "redis_memory": "\(size.redisMemoryMiB)Mi",
            "redis_memory_limit": "\(size.redisMemoryMiB * 2)Mi",
            "redis_maxmemory": "\(size.redisMemoryMiB)mb",
            "filestore_gib": size.filestoreGiB,
            "max_container_cpu": "\(max(size.webCPULimitMillicores, size.databaseCPUMillicores))m",
            "max_container_memory": "\(max(size.webMemoryLimitMiB, size.databaseMemoryMiB))Mi",
        ]
        if let resolver = spec.tls.resolver, spec.tls.mode == "resolver" {
            values["tls_resolver"] = ["name": resolver]
        }
        if let issuer = spec.tls.issuer, spec.tls.mode == "cert-manager" {
            values["tls_cert_manager"] = ["issuer": issuer, "secret": "\(stack)-tls"]
        }
        if dedicated {
            values["database_service"] = "database-rw"
            values["db_host"] = "database-rw"
            values["db_port"] = 5432
            values["db_instances"] = spec.database.instances ?? 1
            values["db_storage"] = "\(spec.database.storageGiB ?? 1)Gi"
            values["db_image"] = spec.database.image?.reference ?? ""
            values["backup_schedule"] = spec.database.backupSchedule ?? ""
            values["retention"] = "\(spec.database.retentionDays ?? 1)d"
            values["backup_destination"] = spec.database.backupDestination ?? ""
            values["tenant_database"] = tenants.first?.database ?? ""
        } else {
            values["db_host"] = spec.database.host ?? ""
            values["db_port"] = spec.database.port ?? 5432
            values["db_network_cidr"] = spec.database.networkCIDR ?? ""
        }
        return values
    }

    /// The values `output`'s template sees, or nil when the stack has no such file.
    func values(for output: StackRenderer.Output) -> [String: Any]? {
        switch output.condition {
        case .always: break
        case .dedicated: guard isDedicated else { return nil }
        case .certManager: guard usesCertManager && isRouted else { return nil }
        case .routed: guard isRouted else { return nil }
        }
        guard case .odooConf(let process, let target) = output.variant else { return values }
        return values.merging(odooConfValues(process: process, target: target)) { _, new in new }
    }

    /// The extra values of one `odoo.conf`: the process (`web` or `cron`) and where it runs.
    func odooConfValues(process: String, target: String) -> [String: Any] {
        let compose = target == "compose"
        return [
            "process_web": process == "web",
            "process_cron": process == "cron",
            "conf_db_host": compose ? "database" : (values["db_host"] as? String ?? ""),
            "conf_db_port": compose ? 5432 : (values["db_port"] as? Int ?? 5432),
            "conf_redis_host": compose ? "redis" : "redis",
            "limit_memory_soft": size.limitMemorySoftBytes,
            "limit_memory_hard": size.limitMemoryHardBytes,
        ]
    }

    private static func decimal(millicores: Int) -> String {
        let whole = millicores / 1000
        let fraction = millicores % 1000
        guard fraction != 0 else { return "\(whole).0" }
        var digits = String(fraction)
        while digits.count < 3 { digits = "0" + digits }
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
