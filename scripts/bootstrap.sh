#!/usr/bin/env bash
# Creates .venv from the pinned requirements (once; again only when requirements-dev.txt changes) and exposes the
# checkout as .build/collections/ansible_collections/ec2meta/imds for ansible-playbook and pytest, with the other
# collections the tests use (amazon.aws, community.aws) beside it.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
# pip's cache in the checkout, not ~/.cache/pip (unless the caller chose one): shared with the other venvs here.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.build/cache/pip}"
stamp=".venv/.requirements.sha256"
wanted="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "==> installing pinned requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" > "$stamp"
fi
# amazon.aws and community.aws beside it, taken from the ansible package's wheel (the script says why).
.venv/bin/python scripts/third_party_collections.py .build/collections
link=".build/collections/ansible_collections/ec2meta/imds"
if [ ! -e "$link" ]; then
    mkdir -p "$(dirname "$link")"
    ln -s ../../../.. "$link"
fi
