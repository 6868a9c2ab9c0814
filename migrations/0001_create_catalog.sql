-- Catalog: regions, plans, organizations, brands, and POST idempotency records.
-- Tables are created unqualified so they land in the connection's search_path
-- schema (tests run each suite in a schema of its own).

CREATE TABLE regions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    slug text NOT NULL,
    name text NOT NULL,
    base_domain text NOT NULL,
    gitops_path text NOT NULL,
    shared_stack_capacity integer NOT NULL,
    -- AES-256-GCM sealed libpq URL of the region's shared PostgreSQL admin role.
    shared_postgres_url_sealed bytea,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT regions_pkey PRIMARY KEY (id),
    CONSTRAINT regions_slug_key UNIQUE (slug),
    CONSTRAINT regions_capacity_check CHECK (shared_stack_capacity BETWEEN 1 AND 1000)
);

CREATE TABLE plans (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    slug text NOT NULL,
    name text NOT NULL,
    max_tenants integer NOT NULL,
    max_production_tenants integer NOT NULL,
    max_dedicated_stacks integer NOT NULL,
    max_cpu_millicores bigint NOT NULL,
    max_memory_mib bigint NOT NULL,
    max_storage_gib bigint NOT NULL,
    allowed_placements text[] NOT NULL,
    allowed_sizes text[] NOT NULL,
    allowed_regions text[] NOT NULL,
    backup_retention_days integer NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plans_pkey PRIMARY KEY (id),
    CONSTRAINT plans_slug_key UNIQUE (slug),
    CONSTRAINT plans_production_check CHECK (max_production_tenants <= max_tenants)
);

CREATE TABLE organizations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    slug text NOT NULL,
    name text NOT NULL,
    plan_id uuid NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug),
    CONSTRAINT organizations_plan_fkey FOREIGN KEY (plan_id) REFERENCES plans (id)
);

CREATE INDEX organizations_plan_idx ON organizations (plan_id);

CREATE TABLE brands (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    default_region_id uuid,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT brands_pkey PRIMARY KEY (id),
    CONSTRAINT brands_organization_slug_key UNIQUE (organization_id, slug),
    CONSTRAINT brands_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT brands_default_region_fkey FOREIGN KEY (default_region_id)
        REFERENCES regions (id)
);

CREATE INDEX brands_default_region_idx ON brands (default_region_id);

-- One row per (caller, Idempotency-Key). A row in state 'in_flight' is being
-- processed; 'completed' holds the first response for replays.
CREATE TABLE idempotency_keys (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    state text NOT NULL,
    response_status integer,
    response_headers jsonb,
    response_body bytea,
    locked_until timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (principal, key),
    CONSTRAINT idempotency_keys_state_check CHECK (state IN ('in_flight', 'completed'))
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
