#!/usr/bin/env bash
# Vendors the pinned Apache ECharts (ui/package.json) into pipeline/ui/static/vendor, from npm.
# The copy is committed, so installing the package never needs npm; tests/ui checks it is byte-identical
# to the pinned npm release.
set -euo pipefail
cd "$(dirname "$0")/.."
npm install --silent --no-audit --no-fund --prefix ui >/dev/null
mkdir -p pipeline/ui/static/vendor
cp ui/node_modules/echarts/dist/echarts.min.js pipeline/ui/static/vendor/echarts.min.js
cp ui/node_modules/echarts/LICENSE pipeline/ui/static/vendor/ECHARTS-LICENSE.txt
cp ui/node_modules/echarts/NOTICE pipeline/ui/static/vendor/ECHARTS-NOTICE.txt 2>/dev/null || true
echo "vendored echarts $(node -p "require('./ui/node_modules/echarts/package.json').version")"
