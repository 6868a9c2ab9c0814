#!/usr/bin/env bash
# Tenant provisioning benchmark of the release build: POST -> active latency of
# shared tenants (p50/p99 over 100 sequential creates), and the time to
# provision 500 shared tenants with 4 worker processes next to the bare cost of
# 500 CREATE DATABASE statements by one psql session in the same run, on the
# same private PostgreSQL cluster (see bench/tenants_bench.py).
#
# Targets: p50 < 300 ms; the 500-tenant run within 2x the bare CREATE DATABASE
# time. Environment: BENCH_SEQUENTIAL (100), BENCH_BURST (500),
# BENCH_SKIP_BUILD=1 to use the existing .build/release/provisioner,
# BENCH_STRICT=1 to fail on a missed target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/ensure-deps.sh"
if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product provisioner
fi
BIN="$ROOT/.build/release/provisioner"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found" >&2; exit 1; }
PROVISIONER_BIN="$BIN" exec "$ROOT/.tools/venv/bin/python" "$ROOT/bench/tenants_bench.py"
