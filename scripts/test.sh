#!/usr/bin/env bash
# Runs every test: style, unit and integration tests (emulator + moto on 127.0.0.1), the built artifact and its
# execution environment context, the docs site, the CI part of the version matrix, ansible-test sanity,
# ansible-lint and the role's molecule scenarios. Installs what it needs first (.venv, .build/matrix/).
# A failing step does not stop the run: every step runs, the failed ones are listed at the end, and the exit status
# is 1 when any failed.
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
failed_steps=()
run() { # run COMMAND...: one command of the current step; its failure marks the step failed and the run goes on
    if ! "$@"; then
        echo "==> FAILED ($*) in step: $step_name"
        if [ "${#failed_steps[@]}" -eq 0 ] || [ "${failed_steps[-1]}" != "$step_name" ]; then
            failed_steps+=("$step_name")
        fi
    fi
}
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
run ruff format --check --quiet .
run ruff check --quiet .

step "pytest: unit and integration tests (ansible-core 2.19, .venv), but the fault matrix and adversarial tests"
# Those run in the next step, under load, with the same .venv: once is enough.
run python -m pytest -n 2 -q tests/unit tests/integration \
    --ignore tests/unit/fault_matrix --ignore tests/integration/test_adversarial.py

step "fault matrix and adversarial tests under load: two CPU burners compete for the cores"
run bash scripts/under_load.sh

step "the artifact: build, file list, EE context, install, smoke playbook"
run bash scripts/artifact.sh

step "docs: changelog lint, collection docs lint, Sphinx build, screenshot"
run bash scripts/docs.sh

step "version matrix, CI part: ansible-core 2.17 and 2.21, oldest and newest host Python"
run bash scripts/matrix.sh --ci

# The newest ansible-core's sanity (2.21 rejected what 2.19 took); scripts/matrix.sh runs it on every core.
step "ansible-test sanity (ansible-core 2.21)"
run bash scripts/matrix.sh --parts sanity --cores 2.21

step "galaxy-importer on the built tarball (Automation Hub's checks)"
run bash scripts/importer.sh

step "ansible-test integration (--venv, Python 3.11): every target with its own emulator and moto"
run bash scripts/integration.sh

step "ansible-lint (production profile, whole repository)"
run ansible-lint --profile production --offline --nocolor

# A scenario is a directory with a molecule.yml; molecule/shared/ only holds the playbooks they share.
for scenario_file in roles/instance_metadata/molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario_file")")
    step "molecule test: $scenario"
    run env -C roles/instance_metadata molecule test --scenario-name "$scenario"
done
step ""

echo
echo "==> time per step"
printf '%s\n' "${timings[@]}"
echo
if [ "${#failed_steps[@]}" -gt 0 ]; then
    echo "==> ${#failed_steps[@]} step(s) failed, in $((SECONDS - started))s:"
    printf '    %s\n' "${failed_steps[@]}"
    exit 1
fi
echo "==> all tests passed in $((SECONDS - started))s"
