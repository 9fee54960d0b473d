#!/usr/bin/env bash
# Real services for development and the test suite, on 127.0.0.1 only.
#
#   scripts/services.sh start|stop|status NAME [NAME...]     NAME: opensearch kafka redis s3 postgresql rabbitmq mariadb
#
# Each service lives in scripts/services/NAME.sh (functions svc_start/svc_stop/svc_status over the
# helpers of scripts/services/lib.sh). State (downloads, data, logs, pid files) goes under
# .services/NAME/ (ignored by git, or $PIPELINE_SERVICES_DIR). start is idempotent, waits until the
# service answers and prints its URL; stop stops only what this script started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
usage() { echo "usage: $0 start|stop|status NAME [NAME...]   (NAME: $(cd "$here/services" && ls -- *.sh | grep -v '^lib.sh$' | sed 's/\.sh$//' | tr '\n' ' '))" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1; shift
case "$action" in start|stop|status) ;; *) usage ;; esac
rc=0
for name in "$@"; do
    [ -f "$here/services/$name.sh" ] || { echo "unknown service: $name" >&2; usage; }
    # One subshell per service so their functions never mix. start and stop of one service take a lock, so
    # a start racing another (a background start in scripts/test.sh, a test fixture) waits for it and reuses it.
    (
        source "$here/services/lib.sh"; source "$here/services/$name.sh"
        if [ "$action" != status ] && command -v flock >/dev/null; then
            exec 9>"$(svc_dir)/.lock"; flock 9
        fi
        "svc_$action"
    ) || rc=$?
done
exit $rc
