# OpenSearch 2.19.6, single node, from Maven Central jars on Java 17 (no tarball, no Docker), on
# 127.0.0.1:${OPENSEARCH_PORT:-9200} (transport on that port + 100). Security plugin absent: plain HTTP, no auth.
# scripts/services/opensearch/pom.xml lists the jars, OpenSearchNode.java is the launcher.
SERVICE=opensearch
PORT=${OPENSEARCH_PORT:-9200}
HEAP=${OPENSEARCH_HEAP:-512m}
SOURCES="$REPO_ROOT/scripts/services/opensearch"

url() { echo "http://127.0.0.1:$PORT"; }
healthy() { curl -fsS -o /dev/null "$(url)/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null; }

# Jars into lib/ (again only when pom.xml changed), launcher into classes/, config into home/.
prepare() {
    local dir stamp; dir=$(svc_dir); stamp=$(sha256sum "$SOURCES/pom.xml" | cut -c1-16)
    command -v java >/dev/null && command -v mvn >/dev/null || apt_install openjdk-17-jdk-headless maven || return 1
    if [ "$(cat "$dir/lib/.pom" 2>/dev/null)" != "$stamp" ]; then
        say "resolving jars with Maven (first start: about a minute)"
        rm -rf "$dir/lib"
        # shellcheck disable=SC2086  # OPENSEARCH_MAVEN_ARGS is a list of flags, e.g. -Dmaven.repo.local=DIR
        mvn -q -B -f "$SOURCES/pom.xml" ${OPENSEARCH_MAVEN_ARGS:-} dependency:copy-dependencies \
            -DoutputDirectory="$dir/lib" -DincludeScope=runtime >"$dir/maven.log" 2>&1 \
            || { say "Maven failed; last lines of $dir/maven.log:"; tail -n 30 "$dir/maven.log" >&2; return 1; }
        echo "$stamp" > "$dir/lib/.pom"
        rm -rf "$dir/classes"
    fi
    if [ ! -f "$dir/classes/OpenSearchNode.class" ] || [ "$SOURCES/OpenSearchNode.java" -nt "$dir/classes/OpenSearchNode.class" ]; then
        mkdir -p "$dir/classes"
        # -proc:none: log4j-core carries an annotation processor we do not want to run.
        javac -proc:none -cp "$dir/lib/*" -d "$dir/classes" "$SOURCES/OpenSearchNode.java" || return 1
    fi
    mkdir -p "$dir/home/config" "$dir/home/data" "$dir/home/logs" "$dir/home/modules" "$dir/home/plugins"
    cp "$SOURCES/log4j2.properties" "$dir/home/config/log4j2.properties"
}

svc_start() {
    if svc_pid >/dev/null; then
        wait_until 180 "healthy on $PORT" healthy || return 1
        url; return 0
    fi
    local p; for p in "$PORT" $((PORT + 100)); do
        if port_open "$p"; then say "port $p is taken by a process this script did not start"; return 1; fi
    done
    prepare || return 1
    local dir; dir=$(svc_dir)
    # The system properties OpenSearch's own launcher sets for every node; the heap is ours.
    start_background java "-Xms$HEAP" "-Xmx$HEAP" -Xss1m -XX:+UseG1GC -Dfile.encoding=UTF-8 \
        -Djava.awt.headless=true -Djna.nosys=true -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Djava.locale.providers=SPI,COMPAT \
        -Dopensearch.set.netty.runtime.available.processors=false \
        -cp "$dir/classes:$dir/lib/*" OpenSearchNode "$dir/home" "$PORT"
    wait_until 180 "healthy on $PORT" healthy || return 1
    url
}

svc_stop() { stop_started 60; }

svc_status() {
    if svc_pid >/dev/null && healthy; then echo "$(url) running"; else echo "opensearch stopped"; return 1; fi
}
