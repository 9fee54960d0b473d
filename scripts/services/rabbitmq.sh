# RabbitMQ from Debian's package: one node on 127.0.0.1:${RABBITMQ_PORT:-5672} with its own mnesia, logs,
# Erlang cookie and epmd port (RABBITMQ_PORT + 10000) under .services/rabbitmq; user guest/guest.
SERVICE=rabbitmq
PORT=${RABBITMQ_PORT:-5672}
EPMD_PORT=$((PORT + 10000))

rabbit_env() {
    local dir; dir=$(svc_dir)
    export HOME="$dir" ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_NODENAME="pipeline-test-$PORT@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$PORT" RABBITMQ_DIST_PORT=$((PORT + 20000)) \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/node.pid" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
}

amqp_ready() { # the broker answers an AMQP handshake (the port opens a little before that)
    python3 - "$PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.sendall(b"AMQP\x00\x00\x09\x01")
s.settimeout(5)
sys.exit(0 if s.recv(1) == b"\x01" else 1)  # frame type 1: connection.start
PY
}

svc_start() {
    if svc_pid >/dev/null; then echo "amqp://guest:guest@127.0.0.1:$PORT/"; return 0; fi
    if port_open "$PORT"; then say "port $PORT is taken by a process this script did not start"; return 1; fi
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_install rabbitmq-server || return 1
    rabbit_env
    local dir; dir=$(svc_dir)
    mkdir -p "$dir/mnesia" "$dir/log"
    echo "[]." > "$dir/enabled_plugins"
    : > "$dir/rabbitmq-env.conf"
    [ -f "$dir/.erlang.cookie" ] || { python3 -c "import secrets; print(secrets.token_hex(16), end='')" > "$dir/.erlang.cookie"; chmod 400 "$dir/.erlang.cookie"; }
    start_background /usr/lib/rabbitmq/bin/rabbitmq-server
    wait_until 120 "answering AMQP on $PORT" amqp_ready || return 1
    echo "amqp://guest:guest@127.0.0.1:$PORT/"
}

svc_stop() {
    rabbit_env
    stop_started 30
    # epmd daemonizes out of the node's process group: stop the one on our own port.
    command -v epmd >/dev/null && epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
}

svc_status() {
    if svc_pid >/dev/null && port_open "$PORT"; then echo "amqp://guest:guest@127.0.0.1:$PORT/ running"; else echo "rabbitmq stopped"; return 1; fi
}
