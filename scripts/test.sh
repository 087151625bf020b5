#!/usr/bin/env bash
# Runs every test: style, unit and integration tests (emulator + moto on 127.0.0.1), the built artifact and its
# execution environment context, the docs site, the CI part of the version matrix, ansible-test sanity,
# ansible-lint and the role's molecule scenarios. Installs what it needs first (.venv, .build/matrix/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
# Nothing a test does may write outside the checkout and the temp dir: ansible's home (local temp, galaxy cache,
# the default collections path) and the tools' caches (molecule, ansible-compat, ansible-lint) go to .build/.
export ANSIBLE_HOME="$PWD/.build/ansible-home"
export XDG_CACHE_HOME="$PWD/.build/cache"
started=$SECONDS
timings=()
step_name=""
step_started=$SECONDS
step() {
    if [ -n "$step_name" ]; then
        timings+=("$(printf '%5ds  %s' "$((SECONDS - step_started))" "$step_name")")
    fi
    step_name="$*"
    step_started=$SECONDS
    echo
    echo "==> $* (at $((SECONDS - started))s)"
}

step "ruff"
ruff format --check --quiet .
ruff check --quiet .

step "pytest: unit and integration tests (ansible-core 2.19, .venv)"
python -m pytest -n 2 -q tests/unit tests/integration

step "the artifact: build, file list, EE context, install, smoke playbook"
bash scripts/artifact.sh

step "docs: changelog lint, collection docs lint, Sphinx build, screenshot"
bash scripts/docs.sh

step "version matrix, CI part: ansible-core 2.17 and 2.20, oldest and newest host Python"
bash scripts/matrix.sh --ci

step "ansible-test sanity (ansible-core 2.19)"
bash scripts/sanity.sh

# ---- issue 21 part B: the release checks (Automation Hub's import) and the integration targets under ansible-test
step "galaxy-importer on the built tarball (Automation Hub's checks)"
bash scripts/importer.sh

step "ansible-test integration (--venv, Python 3.11): every target with its own emulator and moto"
bash scripts/integration.sh
# ---- end of issue 21 part B

step "ansible-lint (production profile, whole repository)"
ansible-lint --profile production --offline --nocolor

# A scenario is a directory with a molecule.yml; molecule/shared/ only holds the playbooks they share.
for scenario_file in roles/instance_metadata/molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario_file")")
    step "molecule test: $scenario"
    (cd roles/instance_metadata && molecule test --scenario-name "$scenario")
done
step ""

echo
echo "==> time per step"
printf '%s\n' "${timings[@]}"
echo
echo "==> all tests passed in $((SECONDS - started))s"
