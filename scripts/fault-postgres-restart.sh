#!/usr/bin/env bash
# Fault test: PostgreSQL stops under traffic, then comes back.
#
# Expects, for a steady stream of GET /v1/plans/fault-plan:
#   - while PostgreSQL is down: 503 application/problem+json with Retry-After
#     (at least one), no other 5xx, no connection failure, nothing over 10 s;
#   - the serve process survives;
#   - after PostgreSQL is back: 200 again within 10 s, without a restart.
#
# Input: PROVISIONER_BIN (path of the built provisioner). Everything else is
# private: its own cluster on a free port, its own data dir, removed at exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${PROVISIONER_BIN:?set PROVISIONER_BIN to the provisioner executable}"
[[ -x "$BIN" ]] || { echo "fault: $BIN is not executable" >&2; exit 1; }
CLUSTER="$ROOT/scripts/postgres-cluster.sh"
# shellcheck source=scripts/lib/service.sh
source "$ROOT/scripts/lib/service.sh"

TRAFFIC_SECONDS=20
OUTAGE_SECONDS=3
MAX_REQUEST_SECONDS=10

TMP="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-fault.XXXXXX")"
chmod 0755 "$TMP"
PG_DIR="$TMP/pg"
DATA="$TMP/data"
mkdir -p "$DATA"
serve_pid=""
loop_pid=""

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    if [[ -n "$loop_pid" ]]; then kill "$loop_pid" 2>/dev/null || true; fi
    stop_pid "$serve_pid"
    "$CLUSTER" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf 'fault: %s\n' "$*"; }

PG_PORT="$(free_port)"
"$CLUSTER" init "$PG_DIR" "$PG_PORT"
"$CLUSTER" start "$PG_DIR"

HTTP_PORT="$(free_port)"
export PROVISIONER_LOG_LEVEL="${PROVISIONER_LOG_LEVEL:-warning}"
provisioner_env "$BIN" "$DATA" "$("$CLUSTER" url "$PG_DIR")" "127.0.0.1:$HTTP_PORT"

"$BIN" serve >"$TMP/serve.log" 2>&1 &
serve_pid=$!
BASE="http://127.0.0.1:$HTTP_PORT"

wait_ready "$BASE" "$serve_pid" "$TMP/serve.log"

TOKEN="$("$BIN" dev-token --role platform-admin)"
AUTH=(-H "Authorization: Bearer $TOKEN")
code="$(curl -s -o "$TMP/create.json" -w '%{http_code}' --max-time 10 "${AUTH[@]}" \
    -H 'Content-Type: application/json' -X POST "$BASE/v1/plans" \
    --data '{"slug":"fault-plan","name":"Fault"}')"
if [[ "$code" != 2* ]]; then
    say "POST /v1/plans answered $code: $(cat "$TMP/create.json")"
    exit 1
fi
URL="$BASE/v1/plans/fault-plan"

# Steady traffic: one request every 0.2 s, each bounded, for TRAFFIC_SECONDS.
# One line per request: code seconds content_type retry_after(0/1).
traffic() {
    local deadline=$((SECONDS + TRAFFIC_SECONDS)) i=0 line hdr
    while ((SECONDS < deadline)); do
        i=$((i + 1))
        hdr="$TMP/h.$i"
        line="$(curl -s -o /dev/null -D "$hdr" --max-time "$MAX_REQUEST_SECONDS" \
            "${AUTH[@]}" -w '%{http_code} %{time_total} %{content_type}' "$URL" || true)"
        local ra=0
        grep -qi '^retry-after:' "$hdr" 2>/dev/null && ra=1
        rm -f "$hdr"
        # content_type may be empty: keep the column count stable
        read -r c t ct <<<"$line"
        printf '%s %s %s %s\n' "${c:-000}" "${t:-0}" "${ct:--}" "$ra"
        sleep 0.2
    done
}

traffic >"$TMP/traffic.log" &
loop_pid=$!

sleep 3
say "stopping PostgreSQL (immediate)"
"$CLUSTER" stop "$PG_DIR" --immediate
sleep "$OUTAGE_SECONDS"
say "starting PostgreSQL again"
"$CLUSTER" start "$PG_DIR"
restart_at=$SECONDS

# After the restart the service must answer 200 within 10 s, no restart.
recovered=""
while ((SECONDS - restart_at < 10)); do
    c="$(curl -s -o /dev/null --max-time 5 "${AUTH[@]}" -w '%{http_code}' "$URL" || true)"
    if [[ "$c" == 200 ]]; then
        recovered=$((SECONDS - restart_at))
        break
    fi
    sleep 0.25
done

wait "$loop_pid" || true
loop_pid=""

violations=()
say "requests by status:"
awk '{print $1}' "$TMP/traffic.log" | sort | uniq -c | sed 's/^/  /'
good_503="$(awk '$1 == 503 && $3 ~ /application\/problem\+json/ && $4 == 1' "$TMP/traffic.log" | wc -l)"
bad_503="$(awk '$1 == 503 && !($3 ~ /application\/problem\+json/ && $4 == 1)' "$TMP/traffic.log" | wc -l)"
conn_fail="$(awk '$1 == "000"' "$TMP/traffic.log" | wc -l)"
other_5xx="$(awk '$1 ~ /^5/ && $1 != 503' "$TMP/traffic.log" | wc -l)"
slow="$(awk -v m="$MAX_REQUEST_SECONDS" '$2 + 0 >= m' "$TMP/traffic.log" | wc -l)"
max_time="$(awk 'BEGIN {m = 0} $2 + 0 > m {m = $2 + 0} END {print m}' "$TMP/traffic.log")"
say "503 with problem+json and Retry-After: $good_503; slowest request: ${max_time}s"

((good_503 >= 1)) || violations+=("no 503 problem+json with Retry-After during the outage")
((bad_503 == 0)) || violations+=("$bad_503 responses 503 without problem+json or Retry-After")
((conn_fail == 0)) || violations+=("$conn_fail requests failed to connect or timed out (status 000)")
((other_5xx == 0)) || violations+=("$other_5xx responses with a 5xx other than 503")
((slow == 0)) || violations+=("$slow requests took ${MAX_REQUEST_SECONDS}s or more")
kill -0 "$serve_pid" 2>/dev/null || violations+=("the serve process died")
if [[ -n "$recovered" ]]; then
    say "200 again ${recovered}s after PostgreSQL restarted"
else
    violations+=("no 200 within 10 s after PostgreSQL restarted")
fi

if [[ "${#violations[@]}" -gt 0 ]]; then
    for v in "${violations[@]}"; do say "FAIL: $v"; done
    say "last lines of the serve log:"
    tail -n 30 "$TMP/serve.log" || true
    exit 1
fi
say "PASS"
