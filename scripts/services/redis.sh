# Redis from Debian's package, on 127.0.0.1:${REDIS_PORT:-6379}, no persistence.
SERVICE=redis
PORT=${REDIS_PORT:-6379}

svc_start() {
    if svc_pid >/dev/null; then echo "redis://127.0.0.1:$PORT"; return 0; fi
    if port_open "$PORT"; then say "port $PORT is taken by a process this script did not start"; return 1; fi
    command -v redis-server >/dev/null || apt_install redis-server || return 1
    start_background redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
        --dir "$(svc_dir)" --daemonize no
    wait_until 30 "answering on $PORT" port_open "$PORT" || return 1
    echo "redis://127.0.0.1:$PORT"
}

svc_stop() { stop_started 10; }

svc_status() {
    if svc_pid >/dev/null && port_open "$PORT"; then echo "redis://127.0.0.1:$PORT running"; else echo "redis stopped"; return 1; fi
}
