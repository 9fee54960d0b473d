#!/bin/sh
# Install pipeline into a virtual environment (./.venv by default, or $1) with the system Python.
# Works on a stock Debian 12 / Ubuntu 24.04, where `pip install` outside a venv is refused
# (externally-managed-environment) and the venv module may be missing (python3-venv).
set -eu
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "install.sh: needs Python >= 3.11 as $PYTHON (found: $("$PYTHON" --version 2>&1 || echo none))" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian and Ubuntu ship venv/ensurepip separately.
    pkg="python3-venv"
    if command -v apt-get >/dev/null; then
        echo "install.sh: installing $pkg (the venv module) with apt-get" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    else
        echo "install.sh: the Python venv module is missing; install it (e.g. $pkg) and run again" >&2
        exit 1
    fi
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[geolite2,azure]"
echo "installed: $("$VENV/bin/pipeline" --version) in $VENV (run it as $VENV/bin/pipeline, or: . $VENV/bin/activate)" >&2
