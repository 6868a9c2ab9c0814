-- Leases by expiry, for the rescue of expired leases, without naming `state`.
--
-- The index this replaces was partial on `state = 'running'`. Completion and
-- heartbeat statements also say `state = 'running'` (next to the primary key),
-- so the planner could read that whole partial index instead of probing the
-- primary key; under a steady stream of jobs the index holds many entries of
-- jobs that already finished (dead until vacuum), and each batch read them all.
-- Only running jobs hold a lease (finishing, failing, rescuing and handing back
-- clear it), so `lease_expires_at IS NOT NULL` selects the same rows, and no
-- statement but the rescue (`lease_expires_at < now()`) implies it.

DROP INDEX jobs_running_lease_idx;
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

-- And so it stays: a job that is not running holds no lease.
ALTER TABLE jobs ADD CONSTRAINT jobs_lease_only_running_check CHECK (state = 'running' OR lease_expires_at IS NULL);

-- Jobs inserted by SQL alone get time-ordered ids too (version 7 UUIDs, RFC 9562:
-- 48 bits of Unix milliseconds, then random bits; the workers' enqueue makes the
-- same in Swift), so primary-key inserts go to the right edge of the index.
CREATE FUNCTION provisioner_uuid7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_byte(
            overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3 FOR 6)
                FROM 1 FOR 6),
            6, (get_byte(uuid_send(gen_random_uuid()), 6) & 15) | 112),
        'hex')::uuid
$$;
ALTER TABLE jobs ALTER COLUMN id SET DEFAULT provisioner_uuid7();
