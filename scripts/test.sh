#!/usr/bin/env bash
# Installs everything the test suite needs (Python packages, the npm beats client) and runs it.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests use: openssl (test certificates), Node.js and npm (the beats client we did not
# write, the Compose schema). Installed from Debian when missing and we may (root with apt-get).
if ! command -v openssl >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq openssl nodejs npm >/dev/null
    fi
fi

# Real services (scripts/services.sh) for tests/services and the plugins that talk to them: Java 17 + Maven
# (OpenSearch, Kafka from Maven Central jars), Go (the S3 server is built from the Go module proxy), curl,
# flock. Redis, PostgreSQL, RabbitMQ and MariaDB come from Debian when their fixtures first start them.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null || ! command -v curl >/dev/null \
        || ! command -v flock >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven curl util-linux >/dev/null
    fi
fi
# Debian's Chromium for the browser tests of `pipeline ui` (tests/ui, driven by the npm playwright-core).
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
fi
command -v go >/dev/null || echo "scripts/test.sh: Go is not on PATH: the S3 service (SeaweedFS) cannot be built" >&2
services=(opensearch kafka redis s3 postgresql rabbitmq mariadb)
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
# Test-only Node packages (the npm beats client, the Compose schema), one package.json per folder.
for manifest in tests/*/package.json; do
    [ -f "$manifest" ] || continue
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$manifest")" >/dev/null
done
# The ruby filter runs users' code in the system's Ruby; csv/xml/cidr/tld tests compare with Ruby's own
# libraries; the dns and memcached filter tests start a real dnsmasq / memcached.
if ! { ruby -rxmlsimple -rpublic_suffix -e 1 && command -v memcached && [ -x /usr/sbin/dnsmasq ]; } >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq ruby ruby-xml-simple ruby-public-suffix dnsmasq-base memcached >/dev/null
fi
# Not exec: the EXIT trap above must run after pytest.
python3 -m pytest -q -p no:cacheprovider "$@"
