# A real S3-compatible server: SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process),
# built from the Go module proxy, S3 on 127.0.0.1:${S3_PORT:-9000} with the fixed test credentials below.
# Its internal servers use the next ports (master +1, volume +2, filer +3; their gRPC ports are those + 10000).
# The binary is cached in .services/s3/bin, so only the first start builds it.
SERVICE=s3
PORT=${S3_PORT:-9000}
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
ACCESS_KEY=pipeline-test          # keep in step with tests/support/services.py
SECRET_KEY=pipeline-test-secret

url() { echo "http://127.0.0.1:$PORT"; }
# Any HTTP answer from the S3 gateway (an anonymous request gets 403) means it serves.
answers() { curl -s -o /dev/null -w '%{http_code}' "$(url)/" 2>/dev/null | grep -q '^[1-5]'; }

weed_bin() { echo "$(svc_dir)/bin/weed-$SEAWEEDFS_VERSION"; }

build() {
    local bin dir source; bin=$(weed_bin); dir=$(svc_dir)
    [ -x "$bin" ] && return 0
    command -v go >/dev/null || { say "needs Go (https://go.dev/dl) on PATH to build SeaweedFS"; return 1; }
    say "building SeaweedFS $SEAWEEDFS_VERSION with Go (first start only; several minutes on 2 cores)"
    # `go install module@version` refuses modules whose go.mod has replace directives (SeaweedFS has one),
    # so build inside the downloaded module, where it is the main module and its replace applies.
    source=$(go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" 2>"$dir/build.log" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
        || { say "downloading the module failed:"; tail -n 20 "$dir/build.log" >&2; return 1; }
    mkdir -p "$dir/bin"
    (cd "$source" && go build -o "$bin.partial" ./weed) >>"$dir/build.log" 2>&1 \
        || { say "go build failed; last lines of $dir/build.log:"; tail -n 30 "$dir/build.log" >&2; return 1; }
    mv "$bin.partial" "$bin"
}

svc_start() {
    if svc_pid >/dev/null; then
        wait_until 120 "answering on $PORT" answers || return 1
        url; return 0
    fi
    local p; for p in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)); do
        if port_open "$p"; then say "port $p is taken by a process this script did not start"; return 1; fi
    done
    command -v curl >/dev/null || apt_install curl || return 1
    build || return 1
    local dir; dir=$(svc_dir); mkdir -p "$dir/data"
    # AWS_* in its environment make weed create an admin identity with these keys; everything else is refused.
    AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY start_background "$(weed_bin)" mini \
        -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.port="$PORT" -master.port=$((PORT + 1)) -volume.port=$((PORT + 2)) -filer.port=$((PORT + 3)) \
        -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false -admin.port.legacy=0
    wait_until 120 "answering on $PORT" answers || return 1
    url
}

svc_stop() { stop_started 30; }

svc_status() {
    if svc_pid >/dev/null && answers; then echo "$(url) running"; else echo "s3 stopped"; return 1; fi
}
