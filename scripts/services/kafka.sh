# Apache Kafka 4.4.0, one KRaft node that is broker and controller, from Maven Central jars on Java 17:
# PLAINTEXT on 127.0.0.1:${KAFKA_PORT:-9092}, controller on the next port. scripts/services/kafka/pom.xml lists the jars.
SERVICE=kafka
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=$((PORT + 1))
HEAP=${KAFKA_HEAP:-512m}
SOURCES="$REPO_ROOT/scripts/services/kafka"
CLUSTER_ID=cGlwZWxpbmUtdGVzdHMtMQ   # any 22-character base64url id; one per data directory

bootstrap() { echo "127.0.0.1:$PORT"; }

# Ready = the broker answers a metadata request (a TCP accept alone comes before the broker is usable).
answers_metadata() {
    python3 - "$(bootstrap)" <<'PY' 2>/dev/null
import sys
from confluent_kafka.admin import AdminClient
AdminClient({"bootstrap.servers": sys.argv[1], "socket.timeout.ms": 2000}).list_topics(timeout=2)
PY
}

set_java() { # JAVA=(the java command line of Kafka's own kafka-run-class.sh, with our heap)
    local dir; dir=$(svc_dir)
    JAVA=(java "-Xms$HEAP" "-Xmx$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$dir/lib/*")
}

write_config() {
    local dir; dir=$(svc_dir)
    cp "$SOURCES/log4j2.properties" "$dir/log4j2.properties"
    # No inline comments in .properties: "k=v # x" keeps " # x" in the value.
    cat > "$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

prepare() {
    local dir stamp; dir=$(svc_dir); stamp=$(sha256sum "$SOURCES/pom.xml" | cut -c1-16)
    command -v java >/dev/null && command -v mvn >/dev/null || apt_install openjdk-17-jdk-headless maven || return 1
    python3 -c 'import confluent_kafka' 2>/dev/null || python3 -m pip install --quiet 'confluent-kafka>=2.4' || return 1
    if [ "$(cat "$dir/lib/.pom" 2>/dev/null)" != "$stamp" ]; then
        say "resolving jars with Maven (first start: about a minute)"
        rm -rf "$dir/lib"
        # shellcheck disable=SC2086  # KAFKA_MAVEN_ARGS is a list of flags, e.g. -Dmaven.repo.local=DIR
        mvn -q -B -f "$SOURCES/pom.xml" ${KAFKA_MAVEN_ARGS:-} dependency:copy-dependencies \
            -DoutputDirectory="$dir/lib" -DincludeScope=runtime >"$dir/maven.log" 2>&1 \
            || { say "Maven failed; last lines of $dir/maven.log:"; tail -n 30 "$dir/maven.log" >&2; return 1; }
        echo "$stamp" > "$dir/lib/.pom"
    fi
    write_config
    # Format the data directory once; --ignore-formatted makes later starts a no-op.
    set_java
    "${JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$dir/server.properties" --ignore-formatted \
        >"$dir/format.log" 2>&1 \
        || { say "formatting $dir/data failed (delete it to start afresh):"; tail -n 20 "$dir/format.log" >&2; return 1; }
}

svc_start() {
    if svc_pid >/dev/null; then
        wait_until 120 "answering metadata on $PORT" answers_metadata || return 1
        bootstrap; return 0
    fi
    local p; for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then say "port $p is taken by a process this script did not start"; return 1; fi
    done
    prepare || return 1
    set_java
    start_background "${JAVA[@]}" kafka.Kafka "$(svc_dir)/server.properties"
    wait_until 120 "answering metadata on $PORT" answers_metadata || return 1
    bootstrap
}

svc_stop() { stop_started 60; }

svc_status() {
    if svc_pid >/dev/null && answers_metadata; then echo "$(bootstrap) running"; else echo "kafka stopped"; return 1; fi
}
