#!/usr/bin/env bash
# Installs what building, running and testing Provisioner needs, and only what
# is missing. Safe to run again and again.
#
#   scripts/ensure-deps.sh [--no-venv] [--bench]
#
#   --no-venv   skip the Python tool venv (enough for scripts/run.sh)
#   --bench     also require wrk (bench/http.sh)
#
# As root, missing Debian packages are installed with apt-get (one
# `apt-get update` first, only when something is missing). As another user,
# `sudo -n` is used when it works without a password; otherwise the script
# only checks and stops with the apt-get command to run.
#
# The Python tools pinned in scripts/requirements-tools.txt go into
# $ROOT/.tools/venv; they are reinstalled only when that file changes.
# Swift itself is expected on PATH (/opt/swift) and is not installed here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="/usr/lib/postgresql/15/bin"
VENV="$ROOT/.tools/venv"
REQUIREMENTS="$ROOT/scripts/requirements-tools.txt"

want_venv=1
want_bench=0
for arg in "$@"; do
    case "$arg" in
        --no-venv) want_venv=0 ;;
        --bench) want_bench=1 ;;
        -h | --help)
            sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "ensure-deps: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

log() { printf 'ensure-deps: %s\n' "$*" >&2; }
die() {
    printf 'ensure-deps: error: %s\n' "$*" >&2
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly, through passwordless sudo, or not at all.
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif have sudo && sudo -n true >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

can_install() {
    [[ "$(id -u)" -eq 0 ]] && return 0
    have sudo && sudo -n true >/dev/null 2>&1
}

apt_updated=0
apt_install() {
    if ! can_install; then
        die "missing Debian packages: $*
  This script is not running as root and sudo is not available without a
  password, so it cannot install them. Ask an administrator to run:
    apt-get update && apt-get install -y $*"
    fi
    have apt-get || die "apt-get not found; install these packages by hand: $*"
    if [[ "$apt_updated" -eq 0 ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

# --- Debian packages: check each by what it provides, collect the missing ---
missing=()
have pkg-config || missing+=(pkg-config)
if ! have pkg-config || ! pkg-config --exists libpq 2>/dev/null; then
    missing+=(libpq-dev)
fi
if ! have pkg-config || ! pkg-config --exists openssl 2>/dev/null; then
    missing+=(libssl-dev)
fi
if ! have pkg-config || ! pkg-config --exists zlib 2>/dev/null; then
    missing+=(zlib1g-dev)
fi
have openssl || missing+=(openssl)
for tool in initdb pg_ctl postgres; do
    if [[ ! -x "$PG_BIN/$tool" ]]; then
        missing+=(postgresql-15)
        break
    fi
done
for tool in psql pg_isready; do
    if ! have "$tool" && [[ ! -x "$PG_BIN/$tool" ]]; then
        missing+=(postgresql-client-15)
        break
    fi
done
have git || missing+=(git)
have curl || missing+=(curl)
have flock || missing+=(util-linux)
have taskset || missing+=(util-linux) # bench/render.sh pins to one core
# kubectl kustomize for the artifact validation stage (scripts/validate-artifacts.sh)
have kubectl || missing+=(kubernetes-client)
if [[ "$(id -u)" -eq 0 ]] && ! have runuser; then
    missing+=(util-linux)
fi
if [[ "$want_bench" -eq 1 ]] && ! have wrk; then
    missing+=(wrk)
fi
if [[ "$want_venv" -eq 1 ]] && ! have python3; then
    missing+=(python3 python3-venv)
fi

if [[ "${#missing[@]}" -gt 0 ]]; then
    # de-duplicate while keeping order
    declare -A seen=()
    unique=()
    for pkg in "${missing[@]}"; do
        if [[ -z "${seen[$pkg]:-}" ]]; then
            seen[$pkg]=1
            unique+=("$pkg")
        fi
    done
    apt_install "${unique[@]}"
fi

# Swift is provided by the machine image, never installed here.
if ! have swift; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        log "note: swift is at /opt/swift/usr/bin but not on PATH"
    else
        die "swift not found on PATH (expected the Swift 6.3 toolchain under /opt/swift)"
    fi
fi

[[ "$want_venv" -eq 1 ]] || exit 0

# --- Python tool venv -------------------------------------------------------
[[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
mkdir -p "$ROOT/.tools"

# Serialize concurrent callers (test stages may run ensure-deps in parallel).
exec 9>"$ROOT/.tools/.ensure-deps.lock"
flock 9

stamp="$VENV/.requirements.sha256"
want_hash="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "venv at $VENV is broken (its Python is gone); recreating"
    rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        log "python3 -m venv failed; installing python3-venv"
        apt_install python3-venv
        python3 -m venv "$VENV" || die "cannot create a venv with $(command -v python3)"
    fi
fi

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_hash" ]]; then
    exit 0
fi

log "installing Python tools from ${REQUIREMENTS#"$ROOT"/}"
rm -f "$stamp"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$REQUIREMENTS"
printf '%s\n' "$want_hash" >"$stamp"
log "Python tools ready in $VENV/bin"
