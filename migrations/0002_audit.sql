-- Audit trail: append-only events, linked in a hash chain by a background sealer.
--
-- Writers insert events with a NULL `sequence` and `hash` inside the transaction
-- of the change they record, so an event exists exactly when its change
-- committed, and writers never wait for each other on a chain head. The sealer
-- (`AuditStore.seal`) later takes the committed, unsealed events in `serial`
-- order, gives each the next chain position and
--     hash = SHA-256(previous hash || canonical bytes of the event)
-- and moves the head in `audit_chain`. `provisioner audit verify` recomputes it.

CREATE TABLE audit_events (
    -- Insertion order (gaps are normal: identity values of rolled-back inserts are lost).
    serial bigint GENERATED ALWAYS AS IDENTITY,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The verified token's iss and sub; NULL only for unauthenticated requests.
    actor_issuer text,
    actor_subject text,
    -- The `org` claim of the actor (NULL for provider staff).
    actor_organization text,
    -- The organization of the resource touched (its slug, and its id when it
    -- existed at the time, so a later organization reusing the slug does not
    -- see this one's history). NULL for provider resources (regions, plans).
    organization text,
    organization_id uuid,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text,
    request_id text,
    outcome text NOT NULL,
    -- Changed fields, never secret values.
    summary jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Chain position and hash: NULL until sealed.
    sequence bigint,
    hash bytea,
    sealed_at timestamptz,
    CONSTRAINT audit_events_pkey PRIMARY KEY (serial),
    CONSTRAINT audit_events_id_key UNIQUE (id),
    CONSTRAINT audit_events_sequence_key UNIQUE (sequence),
    CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('succeeded', 'denied', 'unauthenticated')),
    CONSTRAINT audit_events_actor_check CHECK (outcome = 'unauthenticated' OR actor_subject IS NOT NULL),
    CONSTRAINT audit_events_sealed_check CHECK ((sequence IS NULL) = (hash IS NULL))
);

CREATE INDEX audit_events_unsealed_idx ON audit_events (serial) WHERE sequence IS NULL;
CREATE INDEX audit_events_organization_id_idx ON audit_events (organization_id, serial);
CREATE INDEX audit_events_organization_idx ON audit_events (organization, serial);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_subject, serial);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);

-- The head of the chain: one row, locked by the sealer (so sealers of several
-- replicas take turns, and the write path never touches it). Verification also
-- compares it with the last sealed event, so deleting the newest events shows.
CREATE TABLE audit_chain (
    id integer NOT NULL DEFAULT 1,
    last_sequence bigint NOT NULL DEFAULT 0,
    last_hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_chain_pkey PRIMARY KEY (id),
    CONSTRAINT audit_chain_single_check CHECK (id = 1)
);

INSERT INTO audit_chain (id) VALUES (1);

-- Append-only: no DELETE, no TRUNCATE, and the only UPDATE is sealing (setting
-- sequence, hash and sealed_at once, nothing else). A superuser or the table
-- owner can still disable these triggers; the hash chain is what makes such an
-- edit visible to `provisioner audit verify`.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Nested so that OLD and NEW are only read in a row-level UPDATE.
    IF TG_OP = 'UPDATE' THEN
        IF OLD.sequence IS NULL AND OLD.hash IS NULL AND OLD.sealed_at IS NULL
            AND NEW.sequence IS NOT NULL AND NEW.hash IS NOT NULL
            AND (NEW.serial, NEW.id, NEW.occurred_at, NEW.actor_issuer, NEW.actor_subject, NEW.actor_organization,
                 NEW.organization, NEW.organization_id, NEW.action, NEW.target_type, NEW.target_id, NEW.request_id,
                 NEW.outcome, NEW.summary)
                IS NOT DISTINCT FROM
                (OLD.serial, OLD.id, OLD.occurred_at, OLD.actor_issuer, OLD.actor_subject, OLD.actor_organization,
                 OLD.organization, OLD.organization_id, OLD.action, OLD.target_type, OLD.target_id, OLD.request_id,
                 OLD.outcome, OLD.summary)
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
