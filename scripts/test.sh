#!/usr/bin/env bash
# Runs every test: style, unit and integration tests (emulator + moto on 127.0.0.1), ansible-test sanity,
# ansible-lint and the role's molecule scenarios. Installs what it needs into .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
started=$SECONDS
step() {
    echo
    echo "==> $* (at $((SECONDS - started))s)"
}

step "ruff"
ruff format --check --quiet .
ruff check --quiet .

step "pytest: unit and integration tests"
python -m pytest -n 2 -q tests/unit tests/integration

step "ansible-test sanity"
bash scripts/sanity.sh

if [ -d roles/instance_metadata/molecule ]; then
    step "ansible-lint (production profile)"
    ansible-lint --profile production --offline roles/ tests/integration/targets/ 2>&1 | tail -20

    # A scenario is a directory with a molecule.yml; molecule/shared/ only holds the playbooks they share.
    for scenario_file in roles/instance_metadata/molecule/*/molecule.yml; do
        scenario=$(basename "$(dirname "$scenario_file")")
        step "molecule test: $scenario"
        (cd roles/instance_metadata && molecule test --scenario-name "$scenario")
    done
fi

echo
echo "==> all tests passed in $((SECONDS - started))s"
