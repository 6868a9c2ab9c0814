#!/usr/bin/env bash
# HTTP benchmark of the release build, with its own baseline in the same run.
#
#   (a) GET /healthz                         no auth, no database: the ceiling
#   (b) GET /v1/organizations/bench-org      JWT verified, catalog read
#
# wrk, 2 threads, 32 connections; BENCH_ROUNDS rounds (default 3), each a
# short warm-up then BENCH_DURATION seconds (default 10) of (a), then the
# same of (b). Prints requests/s, p50 and p99 per round, each round's ratio
# (b)/(a), and the targets: median ratio >= 35 % and worst p99 of (b) < 10 ms.
# Raw outputs go to bench/results/. Exits non-zero when a target is missed.
#
# Environment: BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP (default 3),
#   BENCH_SKIP_BUILD=1 to use the existing .build/release/provisioner.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${BENCH_DURATION:-10}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-3}"
CONNECTIONS=32
THREADS=2
TARGET_RATIO=35
TARGET_P99_MS=10

"$ROOT/scripts/ensure-deps.sh" --no-venv --bench
if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product provisioner
fi
BIN="$ROOT/.build/release/provisioner"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found" >&2; exit 1; }

CLUSTER="$ROOT/scripts/postgres-cluster.sh"
# shellcheck source=scripts/lib/service.sh
source "$ROOT/scripts/lib/service.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-bench.XXXXXX")"
chmod 0755 "$TMP"
PG_DIR="$TMP/pg"
DATA="$TMP/data"
mkdir -p "$DATA"
serve_pid=""

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    stop_pid "$serve_pid"
    "$CLUSTER" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


POSTGRES_CLUSTER_EPHEMERAL=1 "$CLUSTER" init "$PG_DIR" "$(free_port)"
"$CLUSTER" start "$PG_DIR"

HTTP_PORT="$(free_port)"
export PROVISIONER_LOG_LEVEL=warning
export PROVISIONER_RATE_LIMIT=0 # measure the service, not the limiter
provisioner_env "$BIN" "$DATA" "$("$CLUSTER" url "$PG_DIR")" "127.0.0.1:$HTTP_PORT" >/dev/null

"$BIN" serve >"$TMP/serve.log" 2>&1 &
serve_pid=$!
BASE="http://127.0.0.1:$HTTP_PORT"
wait_ready "$BASE" "$serve_pid" "$TMP/serve.log"

ADMIN="$("$BIN" dev-token --role platform-admin)"
post() {
    local path="$1" body="$2" code
    code="$(curl -s -o "$TMP/post.json" -w '%{http_code}' --max-time 10 \
        -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -X POST "$BASE$path" --data "$body")"
    if [[ "$code" != 2* ]]; then
        echo "bench: POST $path answered $code: $(cat "$TMP/post.json")" >&2
        exit 1
    fi
}
post /v1/plans '{"slug":"bench-plan","name":"Bench"}'
post /v1/organizations '{"slug":"bench-org","name":"Bench","plan":"bench-plan"}'
VIEWER="$("$BIN" dev-token --role org-viewer --org bench-org --ttl 3600)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEWER" \
    "$BASE/v1/organizations/bench-org")"
[[ "$code" == 200 ]] || { echo "bench: org read as viewer answered $code" >&2; exit 1; }

# wrk reports through a Lua done() hook: one machine-readable line.
cat >"$TMP/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

mkdir -p "$ROOT/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$ROOT/bench/results/http-$STAMP.txt"
{
    echo "# bench/http.sh $STAMP  threads=$THREADS connections=$CONNECTIONS duration=${DURATION}s"
    echo "# $(nproc) cores; $(uname -srm)"
} >"$RAW"

# CPU time (clock ticks) used so far by the service and by the cluster's processes. Throughput on
# a shared machine drifts; CPU per request much less, so it is printed beside requests/s.
TICKS_PER_SECOND="$(getconf CLK_TCK)"
PG_POSTMASTER="$(head -n 1 "$PG_DIR/pgdata/postmaster.pid")"
cpu_ticks() {
    local pids=("$@") pid total=0 fields
    for pid in "${pids[@]}"; do
        fields="$(cut -d ')' -f 2 "/proc/$pid/stat" 2>/dev/null)" || continue
        # After the command: state is field 1, utime 12, stime 13 (fields 14, 15 of stat(5)).
        total=$((total + $(awk '{ print $12 + $13 }' <<<"$fields")))
    done
    printf '%s\n' "$total"
}
service_ticks() { cpu_ticks "$serve_pid"; }
# Backends come and go with connections: count the postmaster's children alive now.
postgres_ticks() {
    local children
    mapfile -t children < <(pgrep -P "$PG_POSTMASTER")
    cpu_ticks "$PG_POSTMASTER" "${children[@]}"
}

# measure NAME URL [wrk args...] -> sets R_rps R_p50 R_p99 R_bad R_svc_us R_pg_us
measure() {
    local name="$1" url="$2"
    shift 2
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" "$@" "$url" >/dev/null
    local out svc0 pg0 svc1 pg1
    svc0="$(service_ticks)" pg0="$(postgres_ticks)"
    out="$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
        -s "$TMP/report.lua" "$@" "$url")"
    svc1="$(service_ticks)" pg1="$(postgres_ticks)"
    printf '\n## %s  %s\n%s\n' "$name" "$url" "$out" >>"$RAW"
    local line
    line="$(grep '^RESULT ' <<<"$out")"
    R_rps="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")"
    R_p50="$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")"
    R_p99="$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")"
    R_bad="$(sed -E 's/.*non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2/' <<<"$line")"
    local requests
    requests="$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")"
    R_svc_us="$(awk -v t="$((svc1 - svc0))" -v hz="$TICKS_PER_SECOND" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * t / hz / n : 0) }')"
    R_pg_us="$(awk -v t="$((pg1 - pg0))" -v hz="$TICKS_PER_SECOND" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * t / hz / n : 0) }')"
    printf 'CPU per request: service %s us, postgres %s us\n' "$R_svc_us" "$R_pg_us" >>"$RAW"
}

# Rounds alternate (a) and (b), so each ratio compares two neighbouring measurements: on a
# shared machine the throughput of both drifts by a third within a minute. The verdict uses the
# median of the per-round ratios and the worst p99 of (b).
ratios=() b_p99s=() rows=() errors_ok=PASS
for round in $(seq 1 "$ROUNDS"); do
    measure "a healthz round $round" "$BASE/healthz"
    A_rps="$R_rps" A_p50="$R_p50" A_p99="$R_p99" A_bad="$R_bad" A_cpu="$R_svc_us/$R_pg_us"
    measure "b org read round $round" "$BASE/v1/organizations/bench-org" -H "Authorization: Bearer $VIEWER"
    B_rps="$R_rps" B_p50="$R_p50" B_p99="$R_p99" B_bad="$R_bad" B_cpu="$R_svc_us/$R_pg_us"
    ratio="$(awk -v a="$A_rps" -v b="$B_rps" 'BEGIN { printf "%.1f", (a > 0 ? 100 * b / a : 0) }')"
    ratios+=("$ratio")
    b_p99s+=("$B_p99")
    [[ "$A_bad" == "0 0" && "$B_bad" == "0 0" ]] || errors_ok=FAIL
    rows+=("$(printf '  %-6s %-32s %11s %8s %8s %12s\n' "$round" "(a) GET /healthz (baseline)" "$A_rps" "$A_p50" "$A_p99" "$A_cpu")")
    rows+=("$(printf '  %-6s %-32s %11s %8s %8s %12s   ratio %s %%\n' "$round" "(b) GET /v1/organizations/{org}" "$B_rps" "$B_p50" "$B_p99" "$B_cpu" "$ratio")")
done
median_ratio="$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
worst_p99="$(printf '%s\n' "${b_p99s[@]}" | sort -g | tail -n 1)"
ratio_ok="$(awk -v r="$median_ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }')"
p99_ok="$(awk -v p="$worst_p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t) ? "PASS" : "FAIL" }')"

report="$(
    printf '\nHTTP benchmark: wrk -t%s -c%s, %s rounds of %ss per case after %ss warm-up (release build)\n' \
        "$THREADS" "$CONNECTIONS" "$ROUNDS" "$DURATION" "$WARMUP"
    printf '  %-6s %-32s %11s %8s %8s %12s\n' "round" "case" "requests/s" "p50 ms" "p99 ms" "CPU us/req"
    printf '  %-6s %-32s %11s %8s %8s %12s\n' "" "" "" "" "" "svc/postgres"
    printf '%s\n' "${rows[@]}"
    printf '  median ratio (b)/(a): %s %%   (rounds: %s)\n' "$median_ratio" "${ratios[*]}"
    printf '  worst p99 of (b): %s ms\n' "$worst_p99"
    printf '  target median ratio >= %s %%:   %s\n' "$TARGET_RATIO" "$ratio_ok"
    printf '  target p99 of (b) < %s ms:      %s\n' "$TARGET_P99_MS" "$p99_ok"
    printf '  no non-2xx / socket errors:     %s\n' "$errors_ok"
    printf '  raw output: %s\n' "${RAW#"$ROOT"/}"
)"
printf '%s\n' "$report"
printf '\n%s\n' "$report" >>"$RAW"
[[ "$ratio_ok" == PASS && "$p99_ok" == PASS && "$errors_ok" == PASS ]]
