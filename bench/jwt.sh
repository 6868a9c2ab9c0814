#!/usr/bin/env bash
# JWT verification benchmark of the release build, with OpenSSL's own figures
# measured in the same run as the baseline (bench/JWTBenchmark does both):
#
#   1. openssl speed -mr ecdsap256 rsa2048 ed25519 (verify operations/s)
#   2. per algorithm (ES256, RS256, EdDSA): our verify primitive (hash of the
#      signing input + OpenSSL signature check, no JSON/base64url) against
#      OpenSSL's verify time (target <= 1.2x), whole-token verification beside it
#   3. Authenticator with the verified-token cache on and off (target: a cached
#      token costs < 0.5 ES256 verify, i.e. no signature is checked at all)
#   4. openssl speed again; the baseline is the faster of the two runs, so a
#      busy machine during one of them cannot make our figures look better.
#
# Raw output goes to bench/results/. Exits non-zero when a target is missed.
# Environment: BENCH_SECONDS (per measurement, default 3),
#   BENCH_SKIP_BUILD=1 to use the existing .build/release/JWTBenchmark.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER="${BENCH_SECONDS:-3}"

"$ROOT/scripts/ensure-deps.sh" --no-venv
if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product JWTBenchmark
fi
BIN="$ROOT/.build/release/JWTBenchmark"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found" >&2; exit 1; }

mkdir -p "$ROOT/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$ROOT/bench/results/jwt-$STAMP.txt"
{
    echo "# bench/jwt.sh $STAMP  seconds=$SECONDS_PER"
    echo "# $(nproc) cores; $(uname -srm); $(openssl version)"
} >"$RAW"

rc=0
"$BIN" --seconds "$SECONDS_PER" 2>&1 | tee -a "$RAW" || rc=$?
printf '  raw output: %s\n' "${RAW#"$ROOT"/}"
exit "$rc"
