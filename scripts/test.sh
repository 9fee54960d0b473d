#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: Debian packages (one apt-get run, only for what is
# missing), the Python package with its test extras, the test-only npm packages; the real services
# (scripts/services.sh) start from the test fixtures and are all stopped on exit.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests use from Debian, as "probe|packages": a package is installed when its probe fails.
#   openssl: test certificates · nodejs/npm: the npm beats client, the Compose schema, playwright-core
#   Java 17 + Maven: OpenSearch and Kafka from Maven Central jars · curl, flock: scripts/services.sh
#   chromium: the browser tests of `pipeline ui` · ruby + XmlSimple + public_suffix: the ruby filter, and the
#   csv/xml/cidr/tld filters checked against Ruby's own libraries · dnsmasq, memcached: real servers for the
#   dns and memcached filter tests · redis-server: scripts/services.sh redis
needs=(
    "command -v openssl|openssl"
    "command -v npm|nodejs npm"
    "command -v java|openjdk-17-jdk-headless"
    "command -v mvn|maven"
    "command -v curl|curl"
    "command -v flock|util-linux"
    "command -v chromium|chromium"
    "ruby -rxmlsimple -rpublic_suffix -e 1|ruby ruby-xml-simple ruby-public-suffix"
    "test -x /usr/sbin/dnsmasq|dnsmasq-base"
    "command -v memcached|memcached"
    "command -v redis-server|redis-server"
)
# systemd-analyze checks the service units (tests/runtime/test_service.py); without recommends the package
# installs fine on a container-like machine and `systemd-analyze verify` works without systemd as PID 1.
lean=()
command -v systemd-analyze >/dev/null || lean+=(systemd)
missing=()
for need in "${needs[@]}"; do
    if ! bash -c "${need%%|*}" >/dev/null 2>&1; then
        read -r -a pkgs <<<"${need#*|}"
        missing+=("${pkgs[@]}")
    fi
done
if [ $((${#missing[@]} + ${#lean[@]})) -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "scripts/test.sh: installing from Debian: ${missing[*]} ${lean[*]}" >&2
        apt-get update -qq
        [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        [ ${#lean[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${lean[@]}" >/dev/null
    else
        echo "scripts/test.sh: missing Debian packages (install them, or run as root): ${missing[*]} ${lean[*]}" >&2
    fi
fi
command -v go >/dev/null || echo "scripts/test.sh: Go is not on PATH: the S3 service (SeaweedFS) cannot be built" >&2

services=(opensearch kafka redis s3)
# Safety net: whatever the test fixtures started and did not stop (an interrupted run) is stopped on exit.
# services.sh stops only what it started itself.
trap 'scripts/services.sh stop "${services[@]}" >/dev/null 2>&1 || true' EXIT
# The slow first starts (Maven downloads, the Go build of the S3 server) run while pip and npm install;
# the fixtures then find them running, or wait for them on the service's lock.
if [ "${PIPELINE_EARLY_SERVICES:-1}" = 1 ]; then
    mkdir -p .services
    scripts/services.sh start opensearch s3 >.services/early-start.log 2>&1 &
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# Test-only Node packages (the npm beats client, the Compose schema, playwright-core), one package.json per folder.
for manifest in tests/*/package.json; do
    [ -f "$manifest" ] || continue
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$manifest")" >/dev/null
done
# Not exec: the EXIT trap above must run after pytest.
python3 -m pytest -q -p no:cacheprovider "$@"
