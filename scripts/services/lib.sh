# Helpers shared by scripts/services/*.sh (sourced, never run). A service file sets SERVICE and
# defines svc_start, svc_stop and svc_status with these helpers.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICES_DIR="${PIPELINE_SERVICES_DIR:-$REPO_ROOT/.services}"

svc_dir() { local d="$SERVICES_DIR/$SERVICE"; mkdir -p "$d"; echo "$d"; }
svc_log() { echo "$(svc_dir)/$SERVICE.log"; }
svc_pidfile() { echo "$(svc_dir)/$SERVICE.pid"; }
say() { echo "[$SERVICE] $*" >&2; }

# The pid this script started, if that process is still alive.
svc_pid() {
    local f; f=$(svc_pidfile)
    [ -f "$f" ] || return 1
    local pid; pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 1; }
    echo "$pid"
}

port_open() { # port_open PORT: something accepts TCP on 127.0.0.1:PORT
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null
}

# wait_until SECONDS DESCRIPTION COMMAND...: retries COMMAND every second; on timeout prints the log tail.
wait_until() {
    local seconds=$1 what=$2; shift 2
    local i
    for ((i = 0; i < seconds; i++)); do
        if "$@"; then return 0; fi
        if [ -n "${STARTED_PID:-}" ] && ! kill -0 "$STARTED_PID" 2>/dev/null; then
            say "exited before $what; last lines of $(svc_log):"; tail -n 30 "$(svc_log)" >&2 || true; return 1
        fi
        sleep 1
    done
    say "not $what after ${seconds}s; last lines of $(svc_log):"; tail -n 30 "$(svc_log)" >&2 || true
    return 1
}

# start_background COMMAND...: starts it detached, logging to svc_log, and records its pid.
start_background() {
    local log; log=$(svc_log)
    : > "$log"
    # 9>&-: the service must not inherit the lock scripts/services.sh holds on fd 9 while starting it.
    setsid "$@" >>"$log" 2>&1 < /dev/null 9>&- &
    STARTED_PID=$!
    echo "$STARTED_PID" > "$(svc_pidfile)"
}

# stop_started [SECONDS]: TERM the recorded process group, KILL after SECONDS (default 30).
stop_started() {
    local pid; pid=$(svc_pid) || { say "not started by this script"; return 0; }
    local seconds=${1:-30} i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$(svc_pidfile)"; say "stopped"; return 0; }
        sleep 1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$(svc_pidfile)"; say "killed after ${seconds}s"
}

# apt_install PACKAGE...: installs Debian packages when we may (root with apt-get).
apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "needs Debian packages: $* (install them, or run as root)"; return 1
    fi
    if [ ! -f "$SERVICES_DIR/.apt-updated" ]; then
        apt-get update -qq >/dev/null && mkdir -p "$SERVICES_DIR" && touch "$SERVICES_DIR/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
