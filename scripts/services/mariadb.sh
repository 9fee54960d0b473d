# MariaDB (MySQL protocol) from Debian's package: a throwaway server (mariadb-install-db) under
# .services/mariadb on 127.0.0.1:${MARIADB_PORT:-3306}; database "pipeline", user "pipeline" without password.
SERVICE=mariadb
PORT=${MARIADB_PORT:-3306}

svc_start() {
    if svc_pid >/dev/null; then echo "mysql://pipeline@127.0.0.1:$PORT/pipeline"; return 0; fi
    if port_open "$PORT"; then say "port $PORT is taken by a process this script did not start"; return 1; fi
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server || return 1
    local dir; dir=$(svc_dir)
    # The server refuses to run as root: it drops to the mysql account Debian's package creates.
    [ "$(id -u)" = 0 ] && chown -R mysql "$dir"
    if [ ! -d "$dir/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$dir/data" --user=mysql --skip-test-db >>"$(svc_log)" 2>&1 \
            || { say "mariadb-install-db failed; see $(svc_log)"; return 1; }
    fi
    start_background /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --user=mysql --bind-address=127.0.0.1 \
        --port="$PORT" --socket="$dir/mariadb.sock" --pid-file="$dir/mariadbd.pid" --skip-log-bin
    wait_until 60 "answering on $PORT" port_open "$PORT" || return 1
    mariadb --no-defaults -S "$dir/mariadb.sock" -u root -e "CREATE DATABASE IF NOT EXISTS pipeline;
        CREATE USER IF NOT EXISTS 'pipeline'@'%'; GRANT ALL ON pipeline.* TO 'pipeline'@'%';" \
        >>"$(svc_log)" 2>&1 || { say "creating the pipeline user failed; see $(svc_log)"; return 1; }
    echo "mysql://pipeline@127.0.0.1:$PORT/pipeline"
}

svc_stop() { stop_started 30; }

svc_status() {
    if svc_pid >/dev/null && port_open "$PORT"; then echo "mysql://pipeline@127.0.0.1:$PORT/pipeline running"; else echo "mariadb stopped"; return 1; fi
}
