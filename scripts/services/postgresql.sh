# PostgreSQL from Debian's package: a throwaway cluster (initdb) under .services/postgresql on
# 127.0.0.1:${POSTGRES_PORT:-5433}, trust authentication, database "pipeline", user "pipeline".
SERVICE=postgresql
PORT=${POSTGRES_PORT:-5433}

pg_bin() { # the newest installed server's bin directory (Debian keeps them out of PATH)
    local dir; dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

svc_start() {
    if svc_pid >/dev/null; then echo "postgresql://pipeline@127.0.0.1:$PORT/pipeline"; return 0; fi
    if port_open "$PORT"; then say "port $PORT is taken by a process this script did not start"; return 1; fi
    pg_bin >/dev/null || apt_install postgresql || return 1
    local bin data; bin=$(pg_bin); data="$(svc_dir)/data"
    # initdb and the server refuse to run as root: use the postgres account Debian's package creates.
    local run=(); if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); chown -R postgres "$(svc_dir)"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        "${run[@]}" "$bin/initdb" -D "$data" -U pipeline --auth=trust -E UTF8 --locale=C.UTF-8 >>"$(svc_log)" 2>&1 \
            || { say "initdb failed; see $(svc_log)"; return 1; }
    fi
    touch "$(svc_log)"; [ "$(id -u)" = 0 ] && chown postgres "$(svc_log)"
    start_background "${run[@]}" "$bin/postgres" -D "$data" -h 127.0.0.1 -p "$PORT" -k "$(svc_dir)" \
        -c fsync=off -c full_page_writes=off
    wait_until 60 "accepting connections on $PORT" "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" || return 1
    "$bin/psql" -h 127.0.0.1 -p "$PORT" -U pipeline -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='pipeline'" \
        | grep -q 1 || "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U pipeline pipeline || return 1
    echo "postgresql://pipeline@127.0.0.1:$PORT/pipeline"
}

svc_stop() { stop_started 30; }

svc_status() {
    if svc_pid >/dev/null && port_open "$PORT"; then echo "postgresql://pipeline@127.0.0.1:$PORT/pipeline running"; else echo "postgresql stopped"; return 1; fi
}
