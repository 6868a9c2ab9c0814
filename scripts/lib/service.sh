# shellcheck shell=bash
# Shared pieces of the scripts that start `provisioner serve` against a private
# PostgreSQL cluster (run, fault, bench). Source it; it defines functions only.

# free_port: prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# stop_pid PID: asks a process to stop (SIGTERM) and waits for it, if it runs.
stop_pid() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

# provisioner_env BIN DATA DATABASE_URL LISTEN: exports the settings of a
# development `serve` (development issuer, master key under DATA created once),
# applies the migrations and creates the development keys.
provisioner_env() {
    local bin="$1" data="$2" database_url="$3" listen="$4"
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [[ ! -s "$data/master.key" ]]; then
        (umask 077 && openssl rand -base64 32 >"$data/master.key")
    fi
    chmod 0600 "$data/master.key"
    export DATABASE_URL="$database_url"
    export PROVISIONER_DATA_DIR="$data"
    export PROVISIONER_MIGRATIONS_DIR="${PROVISIONER_MIGRATIONS_DIR:-$root/migrations}"
    export PROVISIONER_OPENAPI_FILE="${PROVISIONER_OPENAPI_FILE:-$root/openapi/openapi.yaml}"
    export PROVISIONER_MASTER_KEY_FILE="$data/master.key"
    export PROVISIONER_LISTEN="$listen"
    export PROVISIONER_JWT_ISSUER=provisioner-dev
    export PROVISIONER_JWT_AUDIENCE=provisioner
    "$bin" migrate
    PROVISIONER_JWKS="$("$bin" dev-keys | tail -n 1)"
    export PROVISIONER_JWKS
}

# wait_ready BASE_URL PID LOG: waits (30 s at most) until /readyz answers 200;
# on failure prints the end of LOG and returns 1.
wait_ready() {
    local base="$1" pid="$2" log="$3"
    for _ in $(seq 1 150); do
        if curl -fsS --max-time 2 -o /dev/null "$base/readyz" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "serve did not become ready; the end of its log:" >&2
    tail -n 40 "$log" >&2 || true
    return 1
}
