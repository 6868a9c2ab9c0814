-- Jobs: the PostgreSQL work queue shared by the API (which enqueues inside its
-- own transactions) and the worker processes (which claim, run and finish jobs).
--
-- States: queued -> running -> succeeded | failed (will retry: run_at is the
-- next attempt) | dead (out of attempts) | cancelled.
--
-- A claim increments `fence`; every later change a worker makes names the fence
-- it was given, so a worker whose lease expired (and whose job another worker
-- now holds) changes nothing. At most one running job holds a concurrency key,
-- enforced by a partial unique index; claims skip keys already running.

CREATE TABLE jobs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    kind text NOT NULL,
    queue text NOT NULL DEFAULT 'default',
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority smallint NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'queued',
    run_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    fence bigint NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    worker_id text,
    concurrency_key text,
    cancel_requested boolean NOT NULL DEFAULT false,
    last_error text,
    progress jsonb NOT NULL DEFAULT '[]'::jsonb,
    organization text,
    tenant text,
    stack text,
    created_by text,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    CONSTRAINT jobs_kind_check CHECK (kind <> ''),
    CONSTRAINT jobs_queue_check CHECK (queue <> ''),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0 AND max_attempts >= 1),
    CONSTRAINT jobs_running_lease_check CHECK (state <> 'running' OR lease_expires_at IS NOT NULL),
    CONSTRAINT jobs_finished_check CHECK (
        (state IN ('succeeded', 'dead', 'cancelled')) = (finished_at IS NOT NULL)
    )
);

-- Claimable jobs of one queue, in claim order (priority first, then due time).
CREATE INDEX jobs_claimable_idx ON jobs (queue, priority DESC, run_at, id)
    WHERE state IN ('queued', 'failed');
-- Running jobs by lease, for the rescue of expired leases.
CREATE INDEX jobs_running_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- No two running jobs share a concurrency key.
CREATE UNIQUE INDEX jobs_running_concurrency_key_idx ON jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;
-- Finished jobs by age, for pruning.
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE state IN ('succeeded', 'dead', 'cancelled');
-- An organization's jobs, newest first (GET /v1/organizations/{org}/jobs).
CREATE INDEX jobs_organization_idx ON jobs (organization, created_at DESC) WHERE organization IS NOT NULL;

-- A queue table is updated and deleted from constantly: vacuum and analyze it
-- after a small fraction of changes, without throttling, and leave room in each
-- page for updated row versions.
ALTER TABLE jobs SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

-- Wakes listening workers: one notification per queue that received jobs, with
-- the queue name as payload, delivered when the enqueuing transaction commits.
CREATE FUNCTION jobs_notify_enqueued() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    queue_name text;
BEGIN
    FOR queue_name IN SELECT DISTINCT queue FROM inserted_jobs LOOP
        PERFORM pg_notify('provisioner_jobs', queue_name);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_enqueued
    AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_enqueued();
