-- Tenants, their hostnames, their database names (reserved forever), and what
-- stacks need for placement.
--
-- Concurrency (see TenantStore):
-- * every create of an organization's tenant locks the organization row first,
--   so quota checks count the tenants of the organization with no other create
--   of that organization in between;
-- * every shared placement into a (region, Odoo version) locks that pool's row
--   in `shared_stack_pools`, so choosing a stack with room and growing the pool
--   happen one at a time per pool; `stacks.tenant_count <= capacity` is the
--   backstop.

-- A stack's occupancy. `capacity` is 1 for a dedicated stack; for a shared stack
-- it is the region's `shared_stack_capacity` when a tenant was last placed on it.
ALTER TABLE stacks
    ADD COLUMN capacity integer NOT NULL DEFAULT 1,
    ADD COLUMN tenant_count integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT stacks_capacity_check CHECK (capacity >= 1 AND (kind = 'shared' OR capacity = 1)),
    ADD CONSTRAINT stacks_tenant_count_check CHECK (tenant_count BETWEEN 0 AND capacity);

CREATE INDEX stacks_shared_pool_idx ON stacks (region_id, odoo_version, tenant_count) WHERE kind = 'shared';

-- One row per pool of shared stacks: the lock that serializes placements into it.
CREATE TABLE shared_stack_pools (
    region_id uuid NOT NULL,
    odoo_version text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shared_stack_pools_pkey PRIMARY KEY (region_id, odoo_version),
    CONSTRAINT shared_stack_pools_region_fkey FOREIGN KEY (region_id) REFERENCES regions (id) ON DELETE CASCADE,
    CONSTRAINT shared_stack_pools_odoo_version_check CHECK (odoo_version IN ('16.0', '17.0', '18.0'))
);

-- Every database (and role) name ever given to a tenant. Rows are never updated
-- nor deleted, and carry no foreign key to `tenants`, so a name stays taken even
-- after the tenant is deleted (or its row removed).
CREATE TABLE tenant_database_names (
    name text NOT NULL,
    tenant_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_database_names_pkey PRIMARY KEY (name),
    CONSTRAINT tenant_database_names_tenant_key UNIQUE (tenant_id),
    CONSTRAINT tenant_database_names_name_check CHECK (name ~ '^t_[a-z0-9]{1,32}$')
);

CREATE FUNCTION tenant_database_names_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tenant database names are never changed nor released'
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER tenant_database_names_no_update_delete
    BEFORE UPDATE OR DELETE ON tenant_database_names
    FOR EACH ROW EXECUTE FUNCTION tenant_database_names_refuse_change();

CREATE TRIGGER tenant_database_names_no_truncate
    BEFORE TRUNCATE ON tenant_database_names
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_database_names_refuse_change();

CREATE TABLE tenants (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    brand_id uuid NOT NULL,
    slug text NOT NULL,
    environment text NOT NULL,
    region_id uuid NOT NULL,
    placement text NOT NULL,
    size text NOT NULL,
    odoo_version text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    -- NULL until placed (a create places it in the same transaction).
    stack_id uuid,
    database text NOT NULL,
    last_job uuid,
    deleted_at timestamptz,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_database_key UNIQUE (database),
    CONSTRAINT tenants_organization_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT tenants_brand_fkey FOREIGN KEY (brand_id) REFERENCES brands (id),
    CONSTRAINT tenants_region_fkey FOREIGN KEY (region_id) REFERENCES regions (id),
    CONSTRAINT tenants_stack_fkey FOREIGN KEY (stack_id) REFERENCES stacks (id),
    CONSTRAINT tenants_database_fkey FOREIGN KEY (database) REFERENCES tenant_database_names (name),
    CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z][a-z0-9-]{1,38}[a-z0-9]$'),
    CONSTRAINT tenants_environment_check CHECK (environment IN ('production', 'staging', 'development', 'test')),
    CONSTRAINT tenants_placement_check CHECK (placement IN ('shared', 'dedicated')),
    CONSTRAINT tenants_size_check CHECK (size IN ('s', 'm', 'l', 'xl')),
    CONSTRAINT tenants_odoo_version_check CHECK (odoo_version IN ('16.0', '17.0', '18.0')),
    CONSTRAINT tenants_status_check CHECK (
        status IN ('pending', 'provisioning', 'active', 'suspended', 'failed', 'deleting', 'deleted')
    ),
    CONSTRAINT tenants_deleted_check CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);

-- A slug names one live tenant of an organization; deleted tenants free theirs.
CREATE UNIQUE INDEX tenants_organization_slug_key ON tenants (organization_id, slug) WHERE status <> 'deleted';
CREATE INDEX tenants_organization_idx ON tenants (organization_id, slug, id);
CREATE INDEX tenants_brand_idx ON tenants (brand_id);
CREATE INDEX tenants_region_idx ON tenants (region_id);
CREATE INDEX tenants_stack_idx ON tenants (stack_id);

-- Every hostname a live tenant answers to: its default hostname and its custom
-- domains, unique across all organizations. A deleted tenant's rows are removed.
CREATE TABLE tenant_domains (
    domain text NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_domains_pkey PRIMARY KEY (domain),
    CONSTRAINT tenant_domains_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT tenant_domains_kind_check CHECK (kind IN ('default', 'custom')),
    CONSTRAINT tenant_domains_domain_check CHECK (domain ~ '^[a-z0-9][a-z0-9.-]{0,252}$')
);

CREATE INDEX tenant_domains_tenant_idx ON tenant_domains (tenant_id, kind, domain);
