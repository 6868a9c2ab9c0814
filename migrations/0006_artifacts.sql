-- Stacks and their artifact revisions.
--
-- `stacks` is minimal for now (issue 6 extends it): a shared stack belongs to
-- no organization; a dedicated stack belongs to exactly one organization and
-- tenant. `current_revision` is 0 until the first revision is recorded.
--
-- Every revision's files are kept content-addressed: `artifact_blobs` holds each
-- distinct content once (by SHA-256), and a revision's `manifest` lists
-- `{path, sha256, size}` in path order. Recording the digest of the current
-- revision again creates nothing; revisions are numbered 1, 2, ... per stack.

CREATE TABLE stacks (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL,
    region_id uuid NOT NULL,
    kind text NOT NULL,
    odoo_version text NOT NULL,
    organization_id uuid,
    tenant text,
    current_revision integer NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stacks_pkey PRIMARY KEY (id),
    CONSTRAINT stacks_region_name_key UNIQUE (region_id, name),
    CONSTRAINT stacks_region_fkey FOREIGN KEY (region_id) REFERENCES regions (id),
    CONSTRAINT stacks_organization_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT stacks_name_check CHECK (name ~ '^[a-z][a-z0-9-]{0,61}[a-z0-9]$'),
    CONSTRAINT stacks_kind_check CHECK (kind IN ('shared', 'dedicated')),
    CONSTRAINT stacks_odoo_version_check CHECK (odoo_version IN ('16.0', '17.0', '18.0')),
    CONSTRAINT stacks_owner_check CHECK (
        (kind = 'shared' AND organization_id IS NULL AND tenant IS NULL)
        OR (kind = 'dedicated' AND organization_id IS NOT NULL AND tenant IS NOT NULL)
    ),
    CONSTRAINT stacks_current_revision_check CHECK (current_revision >= 0)
);

CREATE INDEX stacks_organization_idx ON stacks (organization_id, tenant);

CREATE TABLE artifact_blobs (
    sha256 text NOT NULL,
    content bytea NOT NULL,
    size integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifact_blobs_pkey PRIMARY KEY (sha256),
    CONSTRAINT artifact_blobs_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT artifact_blobs_size_check CHECK (size = octet_length(content))
);

CREATE TABLE artifact_revisions (
    stack_id uuid NOT NULL,
    number integer NOT NULL,
    digest text NOT NULL,
    manifest jsonb NOT NULL,
    job_id uuid,
    actor text NOT NULL,
    git_commit text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifact_revisions_pkey PRIMARY KEY (stack_id, number),
    CONSTRAINT artifact_revisions_stack_fkey FOREIGN KEY (stack_id) REFERENCES stacks (id) ON DELETE CASCADE,
    CONSTRAINT artifact_revisions_number_check CHECK (number >= 1),
    CONSTRAINT artifact_revisions_digest_check CHECK (digest ~ '^[0-9a-f]{64}$'),
    CONSTRAINT artifact_revisions_manifest_check CHECK (jsonb_typeof(manifest) = 'array'),
    CONSTRAINT artifact_revisions_git_commit_check CHECK (git_commit IS NULL OR git_commit ~ '^[0-9a-f]{40,64}$')
);

CREATE INDEX artifact_revisions_digest_idx ON artifact_revisions (stack_id, digest);
