#!/usr/bin/env bash
# HTTP benchmark of the release build, with its own baseline in the same run.
#
#   (a) GET /healthz                         no auth, no database: the ceiling
#   (b) GET /v1/organizations/bench-org      JWT verified, catalog read
#
# wrk, 2 threads, 32 connections, a short warm-up then BENCH_DURATION seconds
# (default 15) each. Prints requests/s, p50, p99, the ratio (b)/(a) and the
# targets: ratio >= 35 % and p99 of (b) < 10 ms. Raw outputs go to
# bench/results/. Exits non-zero when a target is missed.
#
# Environment: BENCH_DURATION, BENCH_WARMUP (default 3),
#   BENCH_SKIP_BUILD=1 to use the existing .build/release/provisioner.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${BENCH_DURATION:-15}"
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

# measure NAME URL [wrk args...] -> sets R_rps R_p50 R_p99
measure() {
    local name="$1" url="$2"
    shift 2
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" "$@" "$url" >/dev/null
    local out
    out="$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
        -s "$TMP/report.lua" "$@" "$url")"
    printf '\n## %s  %s\n%s\n' "$name" "$url" "$out" >>"$RAW"
    local line
    line="$(grep '^RESULT ' <<<"$out")"
    R_rps="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")"
    R_p50="$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")"
    R_p99="$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")"
    R_bad="$(sed -E 's/.*non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2/' <<<"$line")"
}

measure "a healthz" "$BASE/healthz"
A_rps="$R_rps" A_p50="$R_p50" A_p99="$R_p99" A_bad="$R_bad"
measure "b org read" "$BASE/v1/organizations/bench-org" -H "Authorization: Bearer $VIEWER"
B_rps="$R_rps" B_p50="$R_p50" B_p99="$R_p99" B_bad="$R_bad"

ratio="$(awk -v a="$A_rps" -v b="$B_rps" 'BEGIN { printf "%.1f", (a > 0 ? 100 * b / a : 0) }')"
ratio_ok="$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }')"
p99_ok="$(awk -v p="$B_p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t) ? "PASS" : "FAIL" }')"
errors_ok=PASS
[[ "$A_bad" == "0 0" && "$B_bad" == "0 0" ]] || errors_ok=FAIL

report="$(
    printf '\nHTTP benchmark: wrk -t%s -c%s, %ss each after %ss warm-up (release build)\n' \
        "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP"
    printf '  %-34s %12s %10s %10s\n' "case" "requests/s" "p50 ms" "p99 ms"
    printf '  %-34s %12s %10s %10s\n' "(a) GET /healthz (baseline)" "$A_rps" "$A_p50" "$A_p99"
    printf '  %-34s %12s %10s %10s\n' "(b) GET /v1/organizations/{org}" "$B_rps" "$B_p50" "$B_p99"
    printf '  ratio (b)/(a): %s %%\n' "$ratio"
    printf '  target ratio >= %s %%:          %s\n' "$TARGET_RATIO" "$ratio_ok"
    printf '  target p99 of (b) < %s ms:      %s\n' "$TARGET_P99_MS" "$p99_ok"
    printf '  no non-2xx / socket errors:     %s (a: %s, b: %s)\n' "$errors_ok" "$A_bad" "$B_bad"
    printf '  raw output: %s\n' "${RAW#"$ROOT"/}"
)"
printf '%s\n' "$report"
printf '\n%s\n' "$report" >>"$RAW"
[[ "$ratio_ok" == PASS && "$p99_ok" == PASS && "$errors_ok" == PASS ]]
