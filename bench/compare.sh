#!/usr/bin/env bash
# Us against syslog-ng 3.38 and rsyslog 8.2302 on the same Apache job, one core each (issue 15).
#   bash bench/compare.sh [--events N] [--rounds R] [--two-cores] [--only a,b]
# Runs from this worktree's code (PYTHONPATH), prints CPU and wall figures and the ratios; installs
# syslog-ng from Debian and unpacks rsyslog into bench/.peers/ when missing. See bench/compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec env PYTHONPATH="$PWD" python3 bench/compare.py "$@"
