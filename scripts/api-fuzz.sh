#!/usr/bin/env bash
# Fuzz the live Provisioner API with Schemathesis against openapi/openapi.yaml.
#
# Inputs (environment):
#   PROVISIONER_BIN     path to the built `provisioner` executable (required)
#   FUZZ_DATABASE_URL   libpq URL of an EMPTY database on a running PostgreSQL
#                       (required; tables are created in it by `migrate`)
# Optional:
#   FUZZ_SEED           Schemathesis seed (default 20260422)
#   FUZZ_MAX_EXAMPLES   examples per operation and phase (default 10)
#   FUZZ_PHASES         phases to run (default examples,coverage,fuzzing,stateful)
#   FUZZ_WORKERS        concurrent Schemathesis workers (default 1: with several
#                       workers, Python 3.11.7's ast module can fail under Hypothesis
#                       with "AST constructor recursion depth mismatch")
#   FUZZ_RUN_TIMEOUT    wall-clock limit of one role's run in seconds (default 150)
#   FUZZ_ROLES          space-separated subset of: platform-admin
#                       platform-operator org-admin org-viewer (default: all four)
#   FUZZ_REPORT_DIR     where JUnit reports and logs are kept (default: a temp dir,
#                       removed on exit unless a run failed)
#   SCHEMATHESIS        schemathesis executable (default: PATH, then
#                       $ROOT/.tools/venv/bin/schemathesis, installed there if absent)
#
# Exit status: 0 when every run passed, non-zero otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCHEMATHESIS_VERSION="4.32.5"
SPEC_FILE="$ROOT/openapi/openapi.yaml"
CONFIG_FILE="$ROOT/openapi/schemathesis.toml"

SEED="${FUZZ_SEED:-20260422}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-10}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
WORKERS="${FUZZ_WORKERS:-1}"
RUN_TIMEOUT="${FUZZ_RUN_TIMEOUT:-150}"
ROLES="${FUZZ_ROLES:-platform-admin platform-operator org-admin org-viewer}"
FUZZ_ORG="fuzz-org"

log() { printf '[api-fuzz] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

: "${PROVISIONER_BIN:?set PROVISIONER_BIN to the built provisioner executable}"
: "${FUZZ_DATABASE_URL:?set FUZZ_DATABASE_URL to the libpq URL of an empty database}"
[[ -x "$PROVISIONER_BIN" ]] || die "PROVISIONER_BIN ($PROVISIONER_BIN) is not an executable file"
[[ -f "$SPEC_FILE" ]] || die "missing $SPEC_FILE"
[[ -f "$CONFIG_FILE" ]] || die "missing $CONFIG_FILE"
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"

# --------------------------------------------------------------- schemathesis
find_schemathesis() {
    if [[ -n "${SCHEMATHESIS:-}" ]]; then
        printf '%s\n' "$SCHEMATHESIS"
    elif command -v schemathesis >/dev/null; then
        command -v schemathesis
    elif [[ -x "$ROOT/.tools/venv/bin/schemathesis" ]]; then
        printf '%s\n' "$ROOT/.tools/venv/bin/schemathesis"
    else
        log "schemathesis not found; installing schemathesis==$SCHEMATHESIS_VERSION into $ROOT/.tools/venv"
        python3 -m venv "$ROOT/.tools/venv" >&2
        "$ROOT/.tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "schemathesis==$SCHEMATHESIS_VERSION" >&2
        printf '%s\n' "$ROOT/.tools/venv/bin/schemathesis"
    fi
}
ST="$(find_schemathesis)"
st_version="$("$ST" --version 2>/dev/null | awk '{print $NF}')"
if [[ "$st_version" != "$SCHEMATHESIS_VERSION" ]]; then
    log "warning: using schemathesis $st_version ($ST); the configuration targets $SCHEMATHESIS_VERSION"
fi

# ------------------------------------------------------------------- scratch
tmp="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-fuzz.XXXXXX")"
report_dir="${FUZZ_REPORT_DIR:-$tmp/reports}"
mkdir -p "$report_dir"
server_log="$report_dir/server.log"
server_pid=""
keep_tmp=0

cleanup() {
    local status=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 || $keep_tmp -ne 0 ]]; then
        log "logs and reports kept in $report_dir"
        if [[ "$report_dir" != "$tmp/reports" ]]; then rm -rf "$tmp"; fi
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ database
log "applying migrations"
DATABASE_URL="$FUZZ_DATABASE_URL" PROVISIONER_MIGRATIONS_DIR="$ROOT/migrations" \
    PROVISIONER_DATA_DIR="$tmp" "$PROVISIONER_BIN" migrate >"$report_dir/migrate.log" 2>&1 \
    || { cat "$report_dir/migrate.log" >&2; die "provisioner migrate failed"; }

log "generating development keys"
PROVISIONER_DATA_DIR="$tmp" "$PROVISIONER_BIN" dev-keys >"$report_dir/dev-keys.log" 2>&1 \
    || { cat "$report_dir/dev-keys.log" >&2; die "provisioner dev-keys failed"; }
[[ -f "$tmp/dev/jwks.json" ]] || die "dev-keys did not create $tmp/dev/jwks.json"

# -------------------------------------------------------------------- server
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"

log "starting provisioner serve on $base"
# Rate limiting is turned off: the fuzzer checks conformance, not throughput,
# and 429s would hide the responses under test.
DATABASE_URL="$FUZZ_DATABASE_URL" \
    PROVISIONER_LISTEN="127.0.0.1:$port" \
    PROVISIONER_JWKS="$tmp/dev/jwks.json" \
    PROVISIONER_JWT_ISSUER="provisioner-dev" \
    PROVISIONER_JWT_AUDIENCE="provisioner" \
    PROVISIONER_OPENAPI_FILE="$SPEC_FILE" \
    PROVISIONER_MIGRATIONS_DIR="$ROOT/migrations" \
    PROVISIONER_DATA_DIR="$tmp" \
    PROVISIONER_RATE_LIMIT=0 \
    "$PROVISIONER_BIN" serve >"$server_log" 2>&1 &
server_pid=$!

ready=0
for _ in $(seq 1 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "the server exited during start-up; its log:"
        cat "$server_log" >&2
        server_pid=""
        die "provisioner serve did not start"
    fi
    if curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
if [[ $ready -ne 1 ]]; then
    log "the server never answered 200 on /readyz within 60 s; its log:"
    cat "$server_log" >&2
    die "provisioner serve is not ready"
fi
log "server ready"

# -------------------------------------------------------------------- tokens
mint() { # mint ROLE [ORG]
    local role="$1" org="${2:-}" args
    args=(dev-token --role "$role" --sub "fuzz-$role" --ttl 3600)
    if [[ -n "$org" ]]; then args+=(--org "$org"); fi
    PROVISIONER_DATA_DIR="$tmp" "$PROVISIONER_BIN" "${args[@]}" 2>>"$report_dir/dev-token.log" | tr -d '\r\n'
}
admin_token="$(mint platform-admin)"
[[ -n "$admin_token" ]] || die "dev-token printed no token (see $report_dir/dev-token.log)"

token_for() { # token_for ROLE
    case "$1" in
        platform-admin) printf '%s' "$admin_token" ;;
        platform-operator) mint platform-operator ;;
        org-admin | org-operator | org-viewer) mint "$1" "$FUZZ_ORG" ;;
        *) die "unknown role $1" ;;
    esac
}

# ---------------------------------------------------------------------- seed
# POST a fixture as platform-admin; 201 (created), 202 (a tenant, created with
# its provisioning job) and 409 (already there) are
# both fine, so this can run again before every role's run: an earlier run may
# have patched or deleted the fixtures.
seed() { # seed PATH JSON
    local path="$1" body="$2" status
    status="$(curl -sS -o "$tmp/seed-response.json" -w '%{http_code}' --max-time 10 \
        -X POST "$base$path" \
        -H "Authorization: Bearer $admin_token" \
        -H 'Content-Type: application/json' \
        --data "$body")"
    case "$status" in
        201 | 202 | 409) ;;
        *)
            log "seeding POST $path answered $status:"
            cat "$tmp/seed-response.json" >&2 || true
            printf '\n' >&2
            die "could not seed fixtures"
            ;;
    esac
}
seed_fixtures() {
    seed /v1/regions '{"slug":"fuzz-region","name":"Fuzz region","base_domain":"fuzz.example.test","shared_stack_capacity":10}'
    seed /v1/plans '{"slug":"fuzz-plan","name":"Fuzz plan","max_tenants":10,"max_production_tenants":2,"allowed_placements":["shared","dedicated"],"allowed_sizes":["s","m","l"],"allowed_regions":["fuzz-region"]}'
    seed /v1/organizations "{\"slug\":\"$FUZZ_ORG\",\"name\":\"Fuzz organization\",\"plan\":\"fuzz-plan\"}"
    seed "/v1/organizations/$FUZZ_ORG/brands" '{"slug":"fuzz-brand","name":"Fuzz brand","default_region":"fuzz-region"}'
    seed "/v1/organizations/$FUZZ_ORG/tenants" '{"slug":"fuzz-tenant","brand":"fuzz-brand","environment":"staging","placement":"shared","size":"s","odoo_version":"17.0"}'
    seed_job
    seed_stack
}
# A waiting job of the fuzz organization with the spec's example id (jobs are
# created by the API only as a side effect of other work), back to `queued` for
# every role so that reads and cancels answer more than 404 and 409.
seed_job() {
    if ! command -v psql >/dev/null; then
        log "psql not found: the job operations are fuzzed without a job"
        return 0
    fi
    psql "$FUZZ_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "
        INSERT INTO jobs (id, kind, organization, tenant)
        VALUES ('00000000-0000-4000-8000-000000000000', 'tenant.provision', '$FUZZ_ORG', 'fuzz-tenant')
        ON CONFLICT (id) DO UPDATE SET state = 'queued', cancel_requested = false, finished_at = NULL,
            updated_at = now()" >/dev/null \
        || die "could not seed the fuzz job"
}

# A dedicated stack of the fuzz organization (its tenant `fuzz-tenant`) with the
# spec's example id and two artifact revisions, so that the stack and artifact
# operations answer more than 404 (stacks are created only by provisioning).
# Recorded as the catalog records them: blobs by SHA-256, a manifest in path
# order, and the digest over `<sha256> <size> <path>` lines.
FUZZ_STACK="00000000-0000-4000-8000-000000000001"
seed_stack() {
    if ! command -v psql >/dev/null; then
        log "psql not found: the stack operations are fuzzed without a stack"
        return 0
    fi
    psql "$FUZZ_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL || die "could not seed the fuzz stack"
BEGIN;
INSERT INTO stacks (id, name, region_id, kind, odoo_version, organization_id, tenant)
SELECT '$FUZZ_STACK', 'fuzz-stack', r.id, 'dedicated', '17.0', o.id, 'fuzz-tenant'
FROM regions r, organizations o WHERE r.slug = 'fuzz-region' AND o.slug = '$FUZZ_ORG'
ON CONFLICT (id) DO NOTHING;
CREATE TEMP TABLE fuzz_files (revision integer, path text, content bytea) ON COMMIT DROP;
INSERT INTO fuzz_files VALUES
    (1, 'kustomization.yaml', convert_to(E'resources:\\n  - web.yaml\\n', 'UTF8')),
    (1, 'web.yaml', convert_to(E'kind: Deployment\\nreplicas: 1\\n', 'UTF8')),
    (1, 'odoo.conf', convert_to(E'[options]\\nproxy_mode = True\\n', 'UTF8')),
    (2, 'kustomization.yaml', convert_to(E'resources:\\n  - web.yaml\\n', 'UTF8')),
    (2, 'web.yaml', convert_to(E'kind: Deployment\\nreplicas: 2\\n', 'UTF8')),
    (2, 'config/settings.json', convert_to(E'{"workers": 2}\\n', 'UTF8'));
INSERT INTO artifact_blobs (sha256, content, size)
SELECT DISTINCT encode(sha256(content), 'hex'), content, octet_length(content) FROM fuzz_files
ON CONFLICT (sha256) DO NOTHING;
INSERT INTO artifact_revisions (stack_id, number, digest, manifest, actor)
SELECT '$FUZZ_STACK', revision,
    encode(sha256(convert_to(string_agg(
        encode(sha256(content), 'hex') || ' ' || octet_length(content) || ' ' || path || E'\\n', ''
        ORDER BY path COLLATE "C"), 'UTF8')), 'hex'),
    jsonb_agg(jsonb_build_object('path', path, 'sha256', encode(sha256(content), 'hex'), 'size', octet_length(content))
        ORDER BY path COLLATE "C"),
    'api-fuzz'
FROM fuzz_files GROUP BY revision
ON CONFLICT (stack_id, number) DO NOTHING;
UPDATE stacks SET current_revision = 2 WHERE id = '$FUZZ_STACK' AND current_revision < 2;
COMMIT;
SQL
}

# ---------------------------------------------------------------------- fuzz
declare -A results=()
declare -A durations=()
overall=0

run_role() { # run_role ROLE
    local role="$1" token status start
    token="$(token_for "$role")"
    [[ -n "$token" ]] || die "dev-token printed no token for $role"
    seed_fixtures
    mkdir -p "$report_dir/$role"
    log "running schemathesis as $role (seed $SEED, $MAX_EXAMPLES examples per operation, phases $PHASES)"
    start=$SECONDS
    set +e
    (
        # Schemathesis keeps per-project state in the working directory.
        cd "$tmp" &&
            timeout --kill-after=10 "$RUN_TIMEOUT" \
                "$ST" --config-file "$CONFIG_FILE" run "$base/openapi.yaml" \
                --url "$base" \
                --checks all \
                --seed "$SEED" \
                --max-examples "$MAX_EXAMPLES" \
                --phases "$PHASES" \
                --workers "$WORKERS" \
                --header "Authorization: Bearer $token" \
                --request-timeout 10 \
                --wait-for-schema 10 \
                --generation-database none \
                --report junit \
                --report-dir "$report_dir/$role" \
                --no-color
    ) 2>&1 | tee "$report_dir/$role/schemathesis.log"
    status=${PIPESTATUS[0]}
    set -e
    durations[$role]=$((SECONDS - start))
    if [[ $status -eq 0 ]]; then
        results[$role]="passed"
    elif [[ $status -eq 124 || $status -eq 137 ]]; then
        results[$role]="TIMED OUT after ${RUN_TIMEOUT}s"
        overall=1
    else
        results[$role]="FAILED (exit $status)"
        overall=1
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        results[$role]="${results[$role]}; server died"
        overall=1
        log "the server died during the $role run; last lines of its log:"
        tail -n 50 "$server_log" >&2 || true
        server_pid=""
        return 1
    fi
}

read -r -a role_list <<<"$ROLES"
for role in "${role_list[@]}"; do
    run_role "$role" || break
done

# ------------------------------------------------------------------- summary
printf '\n== api-fuzz summary (schemathesis %s, seed %s, %s examples/operation) ==\n' \
    "$st_version" "$SEED" "$MAX_EXAMPLES"
for role in "${role_list[@]}"; do
    printf '  %-18s %-30s %ss\n' "$role" "${results[$role]:-not run}" "${durations[$role]:-0}"
done
if [[ $overall -ne 0 ]]; then
    keep_tmp=1
    printf 'FAILED: see the logs above and %s\n' "$report_dir"
    if grep -qiE 'panic|fatal error|Fatal error' "$server_log" 2>/dev/null; then
        printf 'the server log mentions a crash: %s\n' "$server_log"
    fi
    exit 1
fi
printf 'all runs passed\n'
