extension StackSpec {
    /// The Odoo versions a stack can run.
    public static let odooVersions = ["16.0", "17.0", "18.0"]

    /// Every field error of the spec, in field order; empty when the spec may be rendered.
    public func validate() -> [SpecFieldError] {
        var errors: [SpecFieldError] = []
        func check(_ ok: Bool, _ field: String, _ message: String) {
            if !ok { errors.append(SpecFieldError(field: field, message: message)) }
        }
        let slugRule = "must match ^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
        let hostRule = "must be a lower-case DNS name (labels of 1-63 [a-z0-9-], no leading or trailing '-', at least two labels, at most 253 bytes)"
        let identifierRule = "must match ^[a-z][a-z0-9_]{0,62}$"

        check(SpecPattern.isSlug(stackName), "stack_name", slugRule)
        check(kind == "shared" || kind == "dedicated", "kind", "must be one of: shared, dedicated")
        check(SpecPattern.isSlug(region.slug), "region.slug", slugRule)
        check(SpecPattern.isHostname(region.baseDomain), "region.base_domain", hostRule)
        check(SpecPattern.isLabel(region.ingressNamespace), "region.ingress_namespace", "must be a Kubernetes namespace name")
        check(Self.odooVersions.contains(odooVersion), "odoo_version", "must be one of: \(Self.odooVersions.joined(separator: ", "))")
        validate(image: image, field: "image", into: &errors)
        if SpecPattern.isImageTag(image.tag), Self.odooVersions.contains(odooVersion) {
            check(image.tag.hasPrefix(odooVersion), "image.tag", "must be a build of Odoo \(odooVersion) (start with \(odooVersion))")
        }
        validate(image: redisImage, field: "redis_image", into: &errors)
        check(SizeProfile.named(size) != nil, "size", "must be one of: \(SizeProfile.all.map(\.name).joined(separator: ", "))")

        validateTenants(into: &errors, hostRule: hostRule, slugRule: slugRule, identifierRule: identifierRule)

        check((100...1_000_000).contains(plan.cpuMillicores), "plan.cpu_millicores", "must be an integer from 100 to 1000000")
        check((128...4_194_304).contains(plan.memoryMiB), "plan.memory_mib", "must be an integer from 128 to 4194304")
        check((1...65_536).contains(plan.storageGiB), "plan.storage_gib", "must be an integer from 1 to 65536")

        switch tls.mode {
        case "resolver":
            check(tls.resolver.map(SpecPattern.isLabel) ?? false, "tls.resolver", "is required for mode resolver and must be a name of [a-z0-9-]")
            check(tls.issuer == nil, "tls.issuer", "is only for mode cert-manager")
        case "cert-manager":
            check(tls.issuer.map(SpecPattern.isLabel) ?? false, "tls.issuer", "is required for mode cert-manager and must be a name of [a-z0-9-]")
            check(tls.resolver == nil, "tls.resolver", "is only for mode resolver")
        default:
            check(false, "tls.mode", "must be one of: resolver, cert-manager")
        }
        check(SpecPattern.isLabel(secretStore), "secret_store", "must be a ClusterSecretStore name of [a-z0-9-]")
        check(SpecPattern.isRepositoryURL(gitops.repoURL), "gitops.repo_url", "must be an https URL with a DNS host and a plain path")
        check(SpecPattern.isRelativePath(gitops.path), "gitops.path", "must be a relative path of [A-Za-z0-9._-] components")
        check(SpecPattern.isGitRevision(gitops.revision), "gitops.revision", "must be a branch, tag or commit name")
        validateDatabase(into: &errors, identifierRule: identifierRule, hostRule: hostRule)
        if let profile = SizeProfile.named(size), errors.allSatisfy({ !$0.field.hasPrefix("plan.") && !$0.field.hasPrefix("database.") }) {
            let instances = kind == "dedicated" ? (database.instances ?? 1) : 0
            let footprint = profile.minimumFootprint(databaseInstances: instances)
            let storage = profile.filestoreGiB + (kind == "dedicated" ? (database.storageGiB ?? 0) * instances : 0)
            check(
                plan.cpuMillicores >= footprint.cpuMillicores, "plan.cpu_millicores",
                "must be at least \(footprint.cpuMillicores) for a \(kind) stack of size \(size)"
            )
            check(
                plan.memoryMiB >= footprint.memoryMiB, "plan.memory_mib",
                "must be at least \(footprint.memoryMiB) for a \(kind) stack of size \(size)"
            )
            check(plan.storageGiB >= storage, "plan.storage_gib", "must be at least \(storage) for a \(kind) stack of size \(size)")
        }

        let backendRule = "must be host:port (a DNS name, service name or IPv4 address; port 1-65535)"
        check(SpecPattern.isBackendAddress(compose.webBackend), "compose.web_backend", backendRule)
        check(SpecPattern.isBackendAddress(compose.websocketBackend), "compose.websocket_backend", backendRule)
        validate(image: compose.traefikImage, field: "compose.traefik_image", into: &errors)
        validate(image: compose.postgresImage, field: "compose.postgres_image", into: &errors)
        return errors
    }

    private func validate(image: Image, field: String, into errors: inout [SpecFieldError]) {
        if !SpecPattern.isImageRepository(image.repository) {
            errors.append(SpecFieldError(field: "\(field).repository", message: "must be a lower-case image repository ([registry/]name[/name])"))
        }
        if !SpecPattern.isImageTag(image.tag) {
            errors.append(
                SpecFieldError(
                    field: "\(field).tag", message: "must be an exact version tag of [A-Za-z0-9._-] with a digit (no latest or floating tags)"
                )
            )
        }
    }

    private func validateTenants(into errors: inout [SpecFieldError], hostRule: String, slugRule: String, identifierRule: String) {
        if tenants.isEmpty {
            errors.append(SpecFieldError(field: "tenants", message: "must name at least one tenant"))
        }
        if kind == "dedicated" && tenants.count > 1 {
            errors.append(SpecFieldError(field: "tenants", message: "a dedicated stack serves exactly one tenant"))
        }
        if tenants.count > 500 {
            errors.append(SpecFieldError(field: "tenants", message: "must name at most 500 tenants"))
        }
        var seenHosts: Set<String> = []
        var seenTenants: Set<String> = []
        var seenDatabases: Set<String> = []
        var seenRoles: Set<String> = []
        for (index, tenant) in tenants.enumerated() {
            let field = "tenants[\(index)]"
            let slugOK = SpecPattern.isSlug(tenant.slug)
            let orgOK = SpecPattern.isSlug(tenant.organization)
            if !slugOK { errors.append(SpecFieldError(field: "\(field).slug", message: slugRule)) }
            if !orgOK { errors.append(SpecFieldError(field: "\(field).organization", message: slugRule)) }
            if slugOK && orgOK && !seenTenants.insert("\(tenant.organization)/\(tenant.slug)").inserted {
                errors.append(SpecFieldError(field: "\(field).slug", message: "names a tenant twice"))
            }
            if !SpecPattern.isDatabaseIdentifier(tenant.database) {
                errors.append(SpecFieldError(field: "\(field).database", message: identifierRule))
            } else if !seenDatabases.insert(tenant.database).inserted {
                errors.append(SpecFieldError(field: "\(field).database", message: "names a database twice"))
            }
            if !SpecPattern.isDatabaseIdentifier(tenant.role) {
                errors.append(SpecFieldError(field: "\(field).role", message: identifierRule))
            } else if !seenRoles.insert(tenant.role).inserted {
                errors.append(SpecFieldError(field: "\(field).role", message: "names a role twice"))
            }
            if slugOK && orgOK && SpecPattern.isHostname(region.baseDomain) {
                let host = Self.defaultHostname(tenant: tenant, baseDomain: region.baseDomain)
                if !SpecPattern.isHostname(host) {
                    errors.append(SpecFieldError(field: "\(field).slug", message: "makes a default hostname longer than 253 bytes"))
                } else if !seenHosts.insert(host).inserted {
                    errors.append(SpecFieldError(field: "\(field).slug", message: "default hostname \(host) is used twice"))
                }
            }
            if tenant.customDomains.count > 20 {
                errors.append(SpecFieldError(field: "\(field).custom_domains", message: "must name at most 20 domains"))
            }
            for (domainIndex, domain) in tenant.customDomains.enumerated() {
                let domainField = "\(field).custom_domains[\(domainIndex)]"
                if !SpecPattern.isHostname(domain) {
                    errors.append(SpecFieldError(field: domainField, message: hostRule))
                } else if SpecPattern.isHostname(region.baseDomain) && domain.hasSuffix(".\(region.baseDomain)") {
                    errors.append(SpecFieldError(field: domainField, message: "must not be under the region's base domain"))
                } else if !seenHosts.insert(domain).inserted {
                    errors.append(SpecFieldError(field: domainField, message: "is used twice"))
                }
            }
        }
    }

    private func validateDatabase(into errors: inout [SpecFieldError], identifierRule: String, hostRule: String) {
        func fail(_ field: String, _ message: String) {
            errors.append(SpecFieldError(field: "database.\(field)", message: message))
        }
        if !SpecPattern.isDatabaseIdentifier(database.role) { fail("role", identifierRule) }
        let dedicatedOnly = ["image", "instances", "storage_gib", "backup_schedule", "retention_days", "backup_destination"]
        let sharedOnly = ["host", "port", "network_cidr"]
        let present: [String: Bool] = [
            "image": database.image != nil, "instances": database.instances != nil, "storage_gib": database.storageGiB != nil,
            "backup_schedule": database.backupSchedule != nil, "retention_days": database.retentionDays != nil,
            "backup_destination": database.backupDestination != nil, "host": database.host != nil, "port": database.port != nil,
            "network_cidr": database.networkCIDR != nil,
        ]
        switch kind {
        case "dedicated":
            for field in sharedOnly where present[field] == true { fail(field, "is only for shared stacks") }
            if let image = database.image {
                validate(image: image, field: "database.image", into: &errors)
            } else {
                fail("image", "is required for a dedicated stack")
            }
            if !(database.instances.map { (1...5).contains($0) } ?? false) { fail("instances", "must be an integer from 1 to 5") }
            if !(database.storageGiB.map { (1...16_384).contains($0) } ?? false) { fail("storage_gib", "must be an integer from 1 to 16384") }
            if !(database.backupSchedule.map(SpecPattern.isSixFieldCron) ?? false) {
                fail("backup_schedule", "must be a six-field cron expression (seconds first) of [0-9*/,-]")
            }
            if !(database.retentionDays.map { (1...3650).contains($0) } ?? false) { fail("retention_days", "must be an integer from 1 to 3650") }
            if !(database.backupDestination.map(SpecPattern.isObjectStoreURL) ?? false) {
                fail("backup_destination", "must be s3://bucket/prefix with a plain path")
            }
            if let tenant = tenants.first, tenant.role != database.role {
                fail("role", "must be the tenant's role on a dedicated stack (Odoo connects as the database owner)")
            }
        case "shared":
            for field in dedicatedOnly where present[field] == true { fail(field, "is only for dedicated stacks") }
            if !(database.host.map { SpecPattern.isHostname($0) || SpecPattern.isIPv4($0) } ?? false) {
                fail("host", "is required for a shared stack and must be a DNS name or IPv4 address")
            }
            if !(database.port.map { (1...65_535).contains($0) } ?? false) { fail("port", "must be an integer from 1 to 65535") }
            if !(database.networkCIDR.map(SpecPattern.isIPv4CIDR) ?? false) { fail("network_cidr", "must be an IPv4 CIDR such as 10.20.0.0/24") }
            if tenants.contains(where: { $0.role == database.role }) {
                fail("role", "must be the stack's own role, not a tenant's")
            }
        default:
            break
        }
    }
}
