#!/usr/bin/env bash
# Job queue benchmark of the release build (`provisioner worker`), with PyPI
# pgqueuer as the peer measured in the same run on the same PostgreSQL cluster
# (one database each; bench/jobs_bench.py drives both):
#
#   (a) steady   two producers (own connections) enqueue batches of 1,000
#                whenever fewer than 5,000 jobs wait; completed jobs/s over
#                BENCH_DURATION seconds after BENCH_WARMUP seconds
#   (b) drain    a backlog of 100,000 inserted with no worker running, then the
#                workers start; jobs/s from the first claim to the last
#                completion (database clock; from the workers' launch beside it)
#   (c) latency  idle workers; 200 single jobs 20 ms apart; enqueue-to-start
#                p50/p99 = claim now() - insert now(), both on the database clock
#
# Each measurement runs provisioner, then pgqueuer, then the next measurement
# (neighbouring figures see the same machine load). No-op handlers:
# provisioner's `diagnostics.noop`, and a pgqueuer entrypoint that returns.
#
# Settings (BENCH_* overrides), chosen by 10 s steady + 50,000 drain runs of
# each system alone (BENCH_SYSTEMS=...; 2026-11-22, figures below), keeping the
# best figures and the lowest postgres CPU per job; the 2-core machine was shared
# with Swift builds (load 4-5), so single figures drifted by up to 2x:
#   provisioner  2 processes x --concurrency 256, PROVISIONER_DB_POOL_SIZE=40
#                (tried 2 x 32/64/128/256 with pools 10/20/40, 1 x 128, 4 x 32:
#                steady 4.1k-13.7k jobs/s, postgres 74-312 us/job, falling
#                with more slots and connections; claims take at most 100)
#   pgqueuer     2 processes x batch_size 100, max_concurrent_tasks unlimited,
#                AsyncpgDriver on uvloop like `pgq run` (tried batch 10/25/50/
#                100/200, max_concurrent_tasks 200, 4 processes: steady
#                9.9k-15.5k jobs/s; batch 50-100 best, 10 is pgq's default)
#
# Targets: steady >= 5,000 jobs/s; steady and drain >= 1.5x pgqueuer; idle p99
# < 20 ms. Prints a table and writes it to bench/results/jobs-STAMP.txt (figures
# as JSON beside it). Exits non-zero on a missed target only with BENCH_STRICT=1.
#
# Environment: BENCH_DURATION (20), BENCH_WARMUP (5), BENCH_BACKLOG (100000),
#   BENCH_LATENCY_JOBS (200), BENCH_PHASES (steady,drain,latency),
#   BENCH_PROV_PROCESSES (2), BENCH_PROV_CONCURRENCY (256), BENCH_PROV_POOL (40),
#   BENCH_PGQ_PROCESSES (2), BENCH_PGQ_BATCH (100), BENCH_PGQ_MAX_CONCURRENT (0:
#   unlimited), BENCH_SKIP_BUILD=1 to use the existing .build/release/provisioner,
#   BENCH_STRICT=1 to fail on a missed target, BENCH_SYSTEMS (provisioner,pgqueuer;
#   one of them for tuning runs: no table then), BENCH_PROV_SETUP_SQL (experiments:
#   SQL run on the provisioner database after its migrations), BENCH_PG_SETTINGS (experiments:
#   postgresql.conf lines for the shared cluster, e.g. "autovacuum_naptime = 1"; both systems
#   see them),
#   BENCH_PG_STAT_STATEMENTS=1 (investigation: the top statements of each phase).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/ensure-deps.sh"
PYTHON="$ROOT/.tools/venv/bin/python"
if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product provisioner
fi
BIN="$ROOT/.build/release/provisioner"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found" >&2; exit 1; }

CLUSTER="$ROOT/scripts/postgres-cluster.sh"
# shellcheck source=scripts/lib/service.sh
source "$ROOT/scripts/lib/service.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-bench-jobs.XXXXXX")"
chmod 0755 "$TMP"
PG_DIR="$TMP/pg"
driver_pid=""

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    stop_pid "$driver_pid"
    "$CLUSTER" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

POSTGRES_CLUSTER_EPHEMERAL=1 "$CLUSTER" init "$PG_DIR" "$(free_port)"
if [[ "${BENCH_PG_STAT_STATEMENTS:-0}" == "1" ]]; then
    # Investigation: per-statement time after each phase (costs a little throughput).
    conf="$PG_DIR/pgdata/postgresql.conf"
    if [[ "$(id -u)" -eq 0 ]]; then
        echo "shared_preload_libraries = 'pg_stat_statements'" | runuser -u postgres -- tee -a "$conf" >/dev/null
    else
        echo "shared_preload_libraries = 'pg_stat_statements'" >>"$conf"
    fi
fi
if [[ -n "${BENCH_PG_SETTINGS:-}" ]]; then
    # Experiments: extra postgresql.conf lines for the shared cluster (both systems see them).
    conf="$PG_DIR/pgdata/postgresql.conf"
    if [[ "$(id -u)" -eq 0 ]]; then
        printf '%s\n' "$BENCH_PG_SETTINGS" | runuser -u postgres -- tee -a "$conf" >/dev/null
    else
        printf '%s\n' "$BENCH_PG_SETTINGS" >>"$conf"
    fi
fi
"$CLUSTER" start "$PG_DIR"
PROV_URL="$("$CLUSTER" url "$PG_DIR")"
"$CLUSTER" psql "$PG_DIR" -- -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE pgqueuer' >/dev/null
PGQ_URL="$("$CLUSTER" url "$PG_DIR" --database pgqueuer)"
PG_POSTMASTER="$(head -n 1 "$PG_DIR/pgdata/postmaster.pid")"
statements_flag=()
if [[ "${BENCH_PG_STAT_STATEMENTS:-0}" == "1" ]]; then
    for db in provisioner pgqueuer; do
        "$CLUSTER" psql "$PG_DIR" --database "$db" -- -q -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
    done
    statements_flag=(--statements)
fi

DATABASE_URL="$PROV_URL" PROVISIONER_MIGRATIONS_DIR="$ROOT/migrations" PROVISIONER_LOG_LEVEL=warning \
    "$BIN" migrate >/dev/null
if [[ -n "${BENCH_PROV_SETUP_SQL:-}" ]]; then
    # Experiments only (e.g. an index change to test a hypothesis): the figures are then not
    # those of the product's schema, and the result file says so.
    "$CLUSTER" psql "$PG_DIR" -- -q -v ON_ERROR_STOP=1 -c "$BENCH_PROV_SETUP_SQL" >/dev/null
fi
# pgqueuer's schema through its own CLI (durability: its default, durable).
PGDSN="$PGQ_URL" "$ROOT/.tools/venv/bin/pgq" install >/dev/null

mkdir -p "$ROOT/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULT="$ROOT/bench/results/jobs-$STAMP.txt"
{
    echo "# bench/jobs.sh $STAMP"
    echo "# $(nproc) cores; $(uname -srm); $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    if [[ -n "${BENCH_PROV_SETUP_SQL:-}" ]]; then
        echo "# EXPERIMENT: provisioner schema changed by BENCH_PROV_SETUP_SQL: $BENCH_PROV_SETUP_SQL"
    fi
} >"$RESULT"

rc=0
"$PYTHON" "$ROOT/bench/jobs_bench.py" run \
    --bin "$BIN" --migrations "$ROOT/migrations" \
    --prov-dsn "$PROV_URL" --pgq-dsn "$PGQ_URL" --postmaster "$PG_POSTMASTER" --tmp "$TMP" \
    --prov-processes "${BENCH_PROV_PROCESSES:-2}" --prov-concurrency "${BENCH_PROV_CONCURRENCY:-256}" \
    --prov-pool "${BENCH_PROV_POOL:-40}" \
    --pgq-processes "${BENCH_PGQ_PROCESSES:-2}" --pgq-batch "${BENCH_PGQ_BATCH:-100}" \
    --pgq-max-concurrent "${BENCH_PGQ_MAX_CONCURRENT:-0}" \
    --phases "${BENCH_PHASES:-steady,drain,latency}" --systems "${BENCH_SYSTEMS:-provisioner,pgqueuer}" \
    --duration "${BENCH_DURATION:-20}" --warmup "${BENCH_WARMUP:-5}" \
    --backlog "${BENCH_BACKLOG:-100000}" --latency-jobs "${BENCH_LATENCY_JOBS:-200}" \
    --result "$RESULT" --json "${RESULT%.txt}.json" "${statements_flag[@]}" &
driver_pid=$!
wait "$driver_pid" || rc=$?
driver_pid=""
echo "# load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)" >>"$RESULT"
printf '  result: %s\n' "${RESULT#"$ROOT"/}"
if [[ "$rc" -ne 0 && "$rc" -ne 3 ]]; then
    echo "bench: the driver failed ($rc)" >&2
    exit "$rc"
fi
if [[ "$rc" -eq 3 && "${BENCH_STRICT:-0}" == "1" ]]; then
    exit 1
fi
exit 0
