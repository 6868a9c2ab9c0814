#!/usr/bin/env bash
# The "artifact validation" stage: renders the example spec matrix with `provisioner render` and
# checks it with the external validators (scripts/validate-artifacts.py), then loads rendered
# Traefik configuration into the real Traefik binary (scripts/traefik-routing-test.py).
#
#   PROVISIONER_BIN=.build/debug/provisioner scripts/validate-artifacts.sh
#
# Tools come from .tools/venv (scripts/ensure-deps.sh) and kubectl from the system; a missing
# tool fails the stage. The CRD schemas are read from ../shared/schemas/crds (override with
# PROVISIONER_CRDS_DIR).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/venv/bin:$PATH"
BIN="${PROVISIONER_BIN:?set PROVISIONER_BIN to the built provisioner executable}"
CRDS="${PROVISIONER_CRDS_DIR:-$ROOT/../shared/schemas/crds}"
PYTHON="$ROOT/.tools/venv/bin/python"

for tool in kubectl kubernetes-validate checkov docker-compose traefik; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "validate-artifacts: required tool '$tool' not found (scripts/ensure-deps.sh installs it)" >&2
        exit 127
    fi
done
[[ -x "$PYTHON" ]] || { echo "validate-artifacts: $PYTHON missing (run scripts/ensure-deps.sh)" >&2; exit 127; }

rc=0
"$PYTHON" "$ROOT/scripts/validate-artifacts.py" --provisioner "$BIN" --crds "$CRDS" || rc=1
"$PYTHON" "$ROOT/scripts/traefik-routing-test.py" --provisioner "$BIN" || rc=1
exit "$rc"
