#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development, tests and benchmarks.
#
#   scripts/postgres-cluster.sh init   DIR [PORT]   create it (once; again is a no-op)
#   scripts/postgres-cluster.sh start  DIR [PORT]   start it and wait until it accepts connections
#   scripts/postgres-cluster.sh stop   DIR [--immediate]
#   scripts/postgres-cluster.sh restart DIR [--immediate]  pg_ctl restart (-m immediate: a crash restart)
#   scripts/postgres-cluster.sh status DIR          exit 0 running, 3 stopped, 4 not initialized
#   scripts/postgres-cluster.sh url    DIR [--database NAME]
#                                                   postgresql://provisioner:PW@/provisioner?host=DIR/pgdata&port=PORT
#                                                   (the unix socket; 127.0.0.1:PORT when DIR is too long for one)
#   scripts/postgres-cluster.sh psql   DIR [-- PSQL-ARGS...]
#
# Layout of DIR:
#   pgdata/     the cluster (owned by the `postgres` user when run as root);
#               its unix socket lives here too
#   password    the `provisioner` superuser's password (0600, invoking user)
#   port        the TCP port (default 54329), chosen at init; start PORT changes it
#   server.log  the server's log
#
# The server listens on 127.0.0.1 and its unix socket only, and requires
# scram-sha-256 passwords on both.
# initdb and postgres refuse to run as root, so as root they run as the
# `postgres` user through runuser; DIR and its parents must then be
# traversable by that user.
#
# Environment:
#   POSTGRES_CLUSTER_EPHEMERAL=1  at init: fsync and synchronous commit off
#                                 (throwaway clusters for tests only)
#   POSTGRES_CLUSTER_START_TIMEOUT  seconds to wait for readiness (default 60)
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DEFAULT_PORT=54329
SUPERUSER=provisioner
DATABASE=provisioner

die() {
    printf 'postgres-cluster: error: %s\n' "$*" >&2
    exit 1
}
log() { printf 'postgres-cluster: %s\n' "$*" >&2; }

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
cmd="$1"
dir_arg="$2"
shift 2

port_arg=""
stop_mode="fast"
url_database="$DATABASE"
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --immediate) stop_mode="immediate" ;;
        --database)
            [[ $# -ge 2 && "$2" =~ ^[a-z_][a-z0-9_]*$ ]] || die "--database needs a lower-case identifier"
            url_database="$2"
            shift
            ;;
        --)
            shift
            extra=("$@")
            break
            ;;
        *)
            if [[ "$1" =~ ^[0-9]+$ ]] && [[ -z "$port_arg" ]]; then
                port_arg="$1"
            else
                die "unexpected argument: $1"
            fi
            ;;
    esac
    shift
done
if [[ -n "$port_arg" ]] && ((port_arg < 1024 || port_arg > 65535)); then
    die "port must be between 1024 and 65535: $port_arg"
fi

[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/postgres" ]] ||
    die "PostgreSQL 15 server binaries not found in $PG_BIN (run scripts/ensure-deps.sh)"

is_root=0
[[ "$(id -u)" -eq 0 ]] && is_root=1

# Absolute path without requiring it to exist yet.
case "$dir_arg" in
    /*) DIR="$dir_arg" ;;
    *) DIR="$(pwd)/$dir_arg" ;;
esac
DIR="${DIR%/}"
PGDATA_DIR="$DIR/pgdata"
PASSWORD_FILE="$DIR/password"
PORT_FILE="$DIR/port"
LOG_FILE="$DIR/server.log"

# Runs a PostgreSQL server binary as the user that owns the cluster.
as_pg() {
    if [[ "$is_root" -eq 1 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

initialized() { [[ -f "$PGDATA_DIR/PG_VERSION" ]]; }

require_initialized() {
    initialized || die "no cluster in $DIR (run: $0 init $DIR)"
}

current_port() {
    if [[ -n "$port_arg" ]]; then
        printf '%s\n' "$port_arg"
    elif [[ -f "$PORT_FILE" ]]; then
        cat "$PORT_FILE"
    else
        printf '%s\n' "$DEFAULT_PORT"
    fi
}

running() {
    initialized && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

# The port the running server was started with (from postmaster.pid line 4).
running_port() {
    sed -n '4p' "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true
}

cluster_url() {
    local port pw
    port="$(current_port)"
    [[ -r "$PASSWORD_FILE" ]] || die "cannot read $PASSWORD_FILE"
    pw="$(cat "$PASSWORD_FILE")"
    # The unix socket in pgdata spares both ends the loopback TCP stack; a socket path
    # longer than sun_path allows (107 bytes) falls back to TCP.
    local socket="$PGDATA_DIR/.s.PGSQL.$port"
    if ((${#socket} <= 100)); then
        printf 'postgresql://%s:%s@/%s?host=%s&port=%s\n' \
            "$SUPERUSER" "$pw" "$url_database" "$(percent_encode "$PGDATA_DIR")" "$port"
    else
        printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$SUPERUSER" "$pw" "$port" "$url_database"
    fi
}

# Percent-encodes everything but unreserved characters and '/', for a URI query value.
percent_encode() {
    local text="$1" out="" char i
    for ((i = 0; i < ${#text}; i++)); do
        char="${text:i:1}"
        case "$char" in
            [A-Za-z0-9/._~-]) out+="$char" ;;
            *) out+="$(printf '%%%02X' "'$char")" ;;
        esac
    done
    printf '%s' "$out"
}

check_traversable() {
    [[ "$is_root" -eq 1 ]] || return 0
    if ! runuser -u postgres -- test -x "$DIR"; then
        die "the postgres user cannot reach $DIR: one of its parent directories
  is not searchable by other users (typical under /root, or a 0700 mktemp dir).
  Put the cluster somewhere else (e.g. PROVISIONER_DATA_DIR=/var/tmp/provisioner-data),
  or make the parents searchable (chmod o+x on each)."
    fi
}

with_lock() {
    mkdir -p "$DIR"
    exec 8>"$DIR/.lock"
    flock 8
}

do_init() {
    with_lock
    if initialized; then
        log "cluster in $DIR already initialized"
        return 0
    fi
    local port
    port="$(current_port)"
    chmod 0711 "$DIR"
    check_traversable
    rm -rf "$PGDATA_DIR"

    if [[ ! -s "$PASSWORD_FILE" ]]; then
        (umask 077 && openssl rand -hex 24 >"$PASSWORD_FILE")
    fi
    chmod 0600 "$PASSWORD_FILE"
    printf '%s\n' "$port" >"$PORT_FILE"

    # initdb reads the password from a file the cluster owner can read.
    local pwfile="$DIR/.initdb-pw"
    rm -f "$pwfile"
    (umask 077 && cp "$PASSWORD_FILE" "$pwfile")
    if [[ "$is_root" -eq 1 ]]; then
        mkdir -m 0700 "$PGDATA_DIR"
        chown postgres:postgres "$PGDATA_DIR" "$pwfile"
        : >"$LOG_FILE"
        chown postgres:postgres "$LOG_FILE"
    fi
    chmod 0600 "$LOG_FILE" 2>/dev/null || true

    log "initdb $PGDATA_DIR"
    if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$SUPERUSER" \
        --pwfile="$pwfile" --auth=scram-sha-256 --encoding=UTF8 --locale=C \
        >"$DIR/initdb.log" 2>&1; then
        rm -f "$pwfile"
        cat "$DIR/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"

    {
        printf '\n# --- written by scripts/postgres-cluster.sh ---\n'
        printf "listen_addresses = '127.0.0.1'\n"
        printf "unix_socket_directories = '%s'\n" "$PGDATA_DIR"
        printf "password_encryption = 'scram-sha-256'\n"
        printf 'max_connections = 300\n'
        printf "log_min_messages = 'warning'\n"
        if [[ "${POSTGRES_CLUSTER_EPHEMERAL:-0}" == "1" ]]; then
            printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
        fi
    } | as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
    {
        printf '# TYPE  DATABASE  USER  ADDRESS       METHOD\n'
        printf 'local   all       all                 scram-sha-256\n'
        printf 'host    all       all   127.0.0.1/32  scram-sha-256\n'
    } | as_pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null

    # Create the application database without opening any port.
    if ! printf 'CREATE DATABASE %s;\n' "$DATABASE" |
        as_pg "$PG_BIN/postgres" --single -D "$PGDATA_DIR" -j postgres \
            >"$DIR/createdb.log" 2>&1; then
        cat "$DIR/createdb.log" >&2
        die "creating database $DATABASE failed"
    fi
    log "initialized $DIR (port $port)"
}

do_start() {
    require_initialized
    with_lock
    check_traversable
    local port timeout
    port="$(current_port)"
    timeout="${POSTGRES_CLUSTER_START_TIMEOUT:-60}"
    if running; then
        local rport
        rport="$(running_port)"
        if [[ -n "$port_arg" && "$rport" != "$port_arg" ]]; then
            die "already running on port $rport (asked for $port_arg); stop it first"
        fi
        log "already running on 127.0.0.1:$rport"
        return 0
    fi
    printf '%s\n' "$port" >"$PORT_FILE"
    if [[ "$is_root" -eq 1 && ! -e "$LOG_FILE" ]]; then
        : >"$LOG_FILE"
        chown postgres:postgres "$LOG_FILE"
    fi
    # fd 8 (the lock) must not be inherited by the server.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" \
        -o "-p $port" -w -t "$timeout" start </dev/null >/dev/null 8>&-; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "PostgreSQL did not start (port $port in use? see $LOG_FILE)"
    fi
    # pg_ctl -w waits for the postmaster; also wait for TCP readiness.
    local isready deadline
    isready="$PG_BIN/pg_isready"
    deadline=$((SECONDS + timeout))
    until "$isready" -q -h 127.0.0.1 -p "$port" -d "$DATABASE" -U "$SUPERUSER"; do
        if ((SECONDS >= deadline)); then
            tail -n 20 "$LOG_FILE" >&2 || true
            die "PostgreSQL not ready on 127.0.0.1:$port after ${timeout}s"
        fi
        sleep 0.2
    done
    log "running on 127.0.0.1:$port"
}

do_stop() {
    if ! initialized; then
        log "no cluster in $DIR; nothing to stop"
        return 0
    fi
    with_lock
    if ! running; then
        log "not running"
        return 0
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m "$stop_mode" -w -t 60 stop >/dev/null
    log "stopped ($stop_mode)"
}

do_restart() {
    require_initialized
    with_lock
    running || die "not running; use start"
    local port
    port="$(running_port)"
    # fd 8 (the lock) must not be inherited by the server.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -m "$stop_mode" \
        -o "-p $port" -w -t 60 restart </dev/null >/dev/null 8>&-; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "PostgreSQL did not restart (see $LOG_FILE)"
    fi
    log "restarted ($stop_mode) on 127.0.0.1:$port"
}

do_status() {
    if ! initialized; then
        echo "not initialized: $DIR"
        exit 4
    fi
    if running; then
        local pid
        pid="$(sed -n '1p' "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
        echo "running on 127.0.0.1:$(running_port) (pid $pid)"
        exit 0
    fi
    echo "stopped (port $(current_port))"
    exit 3
}

do_psql() {
    require_initialized
    local psql_bin="psql"
    command -v psql >/dev/null 2>&1 || psql_bin="$PG_BIN/psql"
    exec "$psql_bin" "$(cluster_url)" "${extra[@]}"
}

case "$cmd" in
    init) do_init ;;
    start) do_start ;;
    stop) do_stop ;;
    restart) do_restart ;;
    status) do_status ;;
    url)
        require_initialized
        cluster_url
        ;;
    psql) do_psql ;;
    *) usage ;;
esac
