#!/usr/bin/env bash
# Creates .build/eda-venv (once; again only when requirements-eda.txt changes): ansible-rulebook for the
# end-to-end test of the imds_events source (tests/unit/extensions/eda/test_rulebook_e2e.py). Its own venv, never
# .venv: ansible-rulebook pins its own ansible-runner and drools-jpy.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
venv=".build/eda-venv"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.build/cache/pip}"
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p .build
    "$PYTHON" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum requirements-eda.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-eda.txt
    echo "$wanted" > "$stamp"
fi
