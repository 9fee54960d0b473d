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

# systemd-analyze checks the service units (tests/runtime/test_service.py); on a container-like machine the
# Debian package installs fine and `systemd-analyze verify` works without systemd running as PID 1.
if ! command -v systemd-analyze >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# Test-only Node packages (the npm beats client, the Compose schema), one package.json per folder.
for manifest in tests/*/package.json; do
    [ -f "$manifest" ] || continue
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$manifest")" >/dev/null
done
exec python3 -m pytest -q -p no:cacheprovider "$@"
