#!/usr/bin/env bash
# Runs Provisioner locally on a fresh machine, with nothing else to do first:
# system packages, a debug build, a private PostgreSQL cluster, a master key,
# migrations, development signing keys, then `provisioner serve` and one
# `provisioner worker` in the foreground. Ctrl-C stops them, then the cluster.
#
# Environment (all optional):
#   PROVISIONER_DATA_DIR     state folder (default ./.data)
#   PROVISIONER_LISTEN       host:port (default 127.0.0.1:8080)
#   PROVISIONER_PG_PORT      port of the private cluster (default 54329)
#   PROVISIONER_SKIP_BUILD=1 use the existing .build/debug/provisioner
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/ensure-deps.sh" --no-venv

if [[ "${PROVISIONER_SKIP_BUILD:-0}" != "1" ]]; then
    swift build --product provisioner
fi
BIN="$ROOT/.build/debug/provisioner"
[[ -x "$BIN" ]] || { echo "run.sh: $BIN not found (build failed?)" >&2; exit 1; }

DATA="${PROVISIONER_DATA_DIR:-./.data}"
mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
CLUSTER="$ROOT/scripts/postgres-cluster.sh"
# shellcheck source=scripts/lib/service.sh
source "$ROOT/scripts/lib/service.sh"
PG_DIR="$DATA/postgres"

"$CLUSTER" init "$PG_DIR" "${PROVISIONER_PG_PORT:-54329}"
"$CLUSTER" start "$PG_DIR" ${PROVISIONER_PG_PORT:+"$PROVISIONER_PG_PORT"}

serve_pid=""
worker_pid=""
# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    trap - INT TERM EXIT
    stop_pid "$serve_pid"
    stop_pid "$worker_pid"
    "$CLUSTER" stop "$PG_DIR" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

provisioner_env "$BIN" "$DATA" "$("$CLUSTER" url "$PG_DIR")" "${PROVISIONER_LISTEN:-127.0.0.1:8080}"
# Region `local`: shared tenants' databases go to this same cluster, and so do those
# of regions created without a shared server of their own.
"$BIN" dev-region >/dev/null
export PROVISIONER_SHARED_REGION_FALLBACK="${PROVISIONER_SHARED_REGION_FALLBACK-local}"

rel_bin="${BIN#"$ROOT"/}"
cat <<BANNER

  Provisioner is starting on http://$PROVISIONER_LISTEN with one worker
  (Ctrl-C stops them and their database)

  Mint a development token (roles: platform-admin platform-operator org-admin
  org-operator org-viewer auditor; org roles also take --org SLUG):
    PROVISIONER_DATA_DIR=$DATA $rel_bin dev-token --role platform-admin

  Try it:
    TOKEN=\$(PROVISIONER_DATA_DIR=$DATA $rel_bin dev-token --role platform-admin)
    curl -s -H "Authorization: Bearer \$TOKEN" http://$PROVISIONER_LISTEN/v1/plans

BANNER

# One worker process runs the jobs the API enqueues (start more with `provisioner worker`).
"$BIN" worker &
worker_pid=$!
"$BIN" serve &
serve_pid=$!
set +e
# Whichever stops first ends the run (the trap stops the other).
wait -n "$serve_pid" "$worker_pid"
status=$?
set -e
exit "$status"
