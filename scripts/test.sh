#!/usr/bin/env bash
# Installs everything the test suite needs (Python packages, the npm beats client) and runs it.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -f tests/interop/package.json ] && command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --prefix tests/interop >/dev/null
fi
exec python3 -m pytest -q -p no:cacheprovider "$@"
