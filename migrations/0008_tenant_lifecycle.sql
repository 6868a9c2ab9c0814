-- What tenant provisioning needs beyond placement: the caller's intent
-- (suspended), the progress of the database work, the sealed passwords of the
-- roles it creates, and the error that ended the last job.
--
-- A tenant's `status` follows its jobs; `suspended` is what the caller asked
-- for, read by every render of the tenant's stack, so a render for another
-- tenant of the same stack never brings a suspended tenant's routes back.

ALTER TABLE tenants
    ADD COLUMN suspended boolean NOT NULL DEFAULT false,
    -- When the tenant's role and database were last seen complete on the
    -- region's shared server (NULL: not yet; dedicated tenants: when placed).
    ADD COLUMN database_ready_at timestamptz,
    -- The tenant role's password, sealed with the master key (AES-256-GCM).
    ADD COLUMN role_password bytea,
    -- The error of the job that left the tenant `failed`; cleared when a job
    -- brings it back.
    ADD COLUMN error text,
    -- When its database was dropped (after the deletion grace period).
    ADD COLUMN purged_at timestamptz;

-- The role a shared stack's Odoo connects as, and its sealed password.
ALTER TABLE stacks
    ADD COLUMN database_role text,
    ADD COLUMN database_password bytea,
    ADD CONSTRAINT stacks_database_role_key UNIQUE (database_role),
    ADD CONSTRAINT stacks_database_role_check CHECK (database_role ~ '^s_[a-z0-9]{1,32}$');

-- A tenant job that ends without success (out of attempts, or cancelled) leaves
-- its tenant `failed` with the job's error, whichever process ended it (the
-- handler, the lease rescuer or a cancel). Only the tenant's latest job counts.
CREATE FUNCTION tenants_fail_with_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants
    SET status = 'failed',
        error = coalesce(NEW.last_error, 'the job was ' || NEW.state),
        version = version + 1,
        updated_at = now()
    WHERE id = (NEW.payload ->> 'tenant')::uuid
      AND last_job = NEW.id
      AND status NOT IN ('deleted', 'failed');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_tenant_failed
    AFTER UPDATE OF state ON jobs
    FOR EACH ROW
    WHEN (NEW.state IN ('dead', 'cancelled') AND OLD.state IS DISTINCT FROM NEW.state AND NEW.kind LIKE 'tenant.%'
          AND NEW.payload ? 'tenant')
    EXECUTE FUNCTION tenants_fail_with_job();
