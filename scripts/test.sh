#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. swift tests      swift build --build-tests && swift test, against a
#                       throwaway PostgreSQL cluster (PROVISIONER_TEST_DATABASE_URL)
#   2. format lint      swift format lint --strict (configuration: .swift-format)
#   3. docker lint      hadolint docker/Dockerfile
#   4. compose config   docker-compose -f docker/compose.yaml config -q (no engine needed)
#   5. api fuzz         scripts/api-fuzz.sh (schemathesis against openapi/)
#   6. fault            scripts/fault-postgres-restart.sh
#   7. jobs acceptance  scripts/jobs-acceptance.py
#   8. tenants acceptance scripts/tenants-acceptance.py (serve and four workers: end to end,
#                       quota and placement races, workers killed mid-provisioning, deletion
#                       after the grace period, cross-organization isolation)
#   9. artifacts        scripts/validate-artifacts.sh (rendered Kubernetes, Compose and
#                       Traefik files through kubernetes-validate, the CRD schemas, kubectl
#                       kustomize, docker-compose config, checkov and the real Traefik)
# Every stage runs even when an earlier one failed; a missing tool is a failure.
# Ends with "N passed, M failed" and a non-zero exit when anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/ensure-deps.sh"
export PATH="$ROOT/.tools/venv/bin:$PATH"

CLUSTER="$ROOT/scripts/postgres-cluster.sh"
# shellcheck source=scripts/lib/service.sh
source "$ROOT/scripts/lib/service.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-test.XXXXXX")"
chmod 0755 "$TMP" # the postgres user must traverse it when we are root
PG_DIR="$TMP/pg"

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    "$CLUSTER" stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


PG_PORT="$(free_port)"
POSTGRES_CLUSTER_EPHEMERAL=1 "$CLUSTER" init "$PG_DIR" "$PG_PORT"
"$CLUSTER" start "$PG_DIR"
PROVISIONER_TEST_DATABASE_URL="$("$CLUSTER" url "$PG_DIR")"
export PROVISIONER_TEST_DATABASE_URL

passed=0
failed=0
results=()

# run_stage NAME COMMAND...: runs a stage, records its outcome, never aborts.
run_stage() {
    local name="$1"
    shift
    printf '\n==> stage: %s\n' "$name"
    local start=$SECONDS rc=0
    "$@" || rc=$?
    local took=$((SECONDS - start))
    if [[ "$rc" -eq 0 ]]; then
        passed=$((passed + 1))
        results+=("PASS  $name (${took}s)")
    else
        failed=$((failed + 1))
        results+=("FAIL  $name (exit $rc, ${took}s)")
    fi
    printf '==> stage %s: exit %s after %ss\n' "$name" "$rc" "$took"
}

require_tool() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "test.sh: required tool '$1' not found (scripts/ensure-deps.sh should install it)" >&2
        return 127
    fi
}

built=0
stage_swift_tests() {
    swift build --build-tests || return $?
    built=1
    # A test that hangs fails the stage (and prints which) instead of eating CI's time.
    timeout --kill-after=30 1800 swift test
}

stage_format_lint() {
    swift format lint --strict --recursive Package.swift Sources Tests bench
}

stage_docker_lint() {
    require_tool hadolint || return $?
    hadolint docker/Dockerfile
}

stage_compose_config() {
    require_tool docker-compose || return $?
    docker-compose -f docker/compose.yaml config -q
}

provisioner_bin() {
    local bin
    bin="$(swift build --show-bin-path)/provisioner"
    if [[ "$built" -ne 1 || ! -x "$bin" ]]; then
        echo "test.sh: no built provisioner binary (the swift build failed)" >&2
        return 1
    fi
    printf '%s\n' "$bin"
}

stage_api_fuzz() {
    local script="$ROOT/scripts/api-fuzz.sh" bin
    [[ -x "$script" ]] || { echo "test.sh: $script missing or not executable" >&2; return 1; }
    bin="$(provisioner_bin)" || return 1
    PGOPTIONS='-c client_min_messages=warning' \
        "$CLUSTER" psql "$PG_DIR" -- -q -v ON_ERROR_STOP=1 \
        -c 'DROP DATABASE IF EXISTS fuzz' -c 'CREATE DATABASE fuzz' || return 1
    PROVISIONER_BIN="$bin" \
        FUZZ_DATABASE_URL="$("$CLUSTER" url "$PG_DIR" --database fuzz)" \
        "$script"
}

stage_fault() {
    local script="$ROOT/scripts/fault-postgres-restart.sh" bin
    [[ -x "$script" ]] || { echo "test.sh: $script missing or not executable" >&2; return 1; }
    bin="$(provisioner_bin)" || return 1
    PROVISIONER_BIN="$bin" "$script"
}

stage_jobs_acceptance() {
    local script="$ROOT/scripts/jobs-acceptance.py" bin
    [[ -x "$script" ]] || { echo "test.sh: $script missing or not executable" >&2; return 1; }
    bin="$(provisioner_bin)" || return 1
    PROVISIONER_BIN="$bin" timeout --kill-after=30 900 "$script"
}

stage_tenants_acceptance() {
    local script="$ROOT/scripts/tenants-acceptance.py" bin
    [[ -x "$script" ]] || { echo "test.sh: $script missing or not executable" >&2; return 1; }
    bin="$(provisioner_bin)" || return 1
    PROVISIONER_BIN="$bin" timeout --kill-after=30 1200 "$ROOT/.tools/venv/bin/python" "$script"
}

stage_artifacts() {
    local script="$ROOT/scripts/validate-artifacts.sh" bin
    [[ -x "$script" ]] || { echo "test.sh: $script missing or not executable" >&2; return 1; }
    require_tool kubectl || return $?
    bin="$(provisioner_bin)" || return 1
    PROVISIONER_BIN="$bin" timeout --kill-after=30 600 "$script"
}

run_stage "swift tests" stage_swift_tests
run_stage "format lint" stage_format_lint
run_stage "docker lint" stage_docker_lint
run_stage "compose config" stage_compose_config
run_stage "api fuzz" stage_api_fuzz
run_stage "fault postgres restart" stage_fault
run_stage "jobs acceptance" stage_jobs_acceptance
run_stage "tenants acceptance" stage_tenants_acceptance
run_stage "artifacts" stage_artifacts

printf '\n==> summary\n'
printf '  %s\n' "${results[@]}"
printf '%s passed, %s failed\n' "$passed" "$failed"
[[ "$failed" -eq 0 ]]
