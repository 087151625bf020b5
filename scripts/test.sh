#!/usr/bin/env bash
# Runs the tests. Installs what it needs first (.venv, .build/matrix/).
#
#   scripts/test.sh           every test (what CI runs, .ci/run): style, unit and integration tests (emulator + moto
#                             on 127.0.0.1), the built artifact and its execution environment context, the docs site
#                             and the demo with HOME an empty directory, the CI part of the version matrix,
#                             ansible-test sanity and integration, galaxy-importer, ansible-lint, the Event-Driven
#                             Ansible end-to-end run and the role's molecule scenarios
#   scripts/test.sh --quick   the loop while you work, a few minutes at most: ruff, the unit tests of what changed
#                             (every file that differs from main, committed or not, mapped to the unit test files
#                             named after it or importing it; a small core set when nothing maps) and the smoke
#                             playbook against the checkout
#
# The full run takes its steps two at a time from one queue, longest first (run_lanes below): most steps keep one core
# busy at most. A failing step does not stop the run: every step runs. The end is a table of the steps with their
# wall and CPU seconds (user + system of every process the step ran, burners of the under-load step included), then
# what failed and what was skipped (a matrix cell without its Python, a skipped pytest test). "all tests passed" only when
# nothing failed and nothing was skipped; the exit status is 1 when anything failed, and under CI=true (where
# everything must run) also when anything was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
case "${1:-}" in
    "") ;;
    --quick) quick=true ;;
    *) echo "unknown argument: $1 (see the top of $0)" >&2; exit 2 ;;
esac
bash scripts/bootstrap.sh
# Before the tests: the campaign report's DOM test and the docs' screenshot open pages in Chromium.
bash scripts/chromium.sh

export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
# Nothing a test does may write outside the checkout and the temp dir: ansible's home (galaxy cache, the default
# collections path), its temp dirs on the controller and on the managed host (localhost here: remote_tmp and
# async_dir do not follow ANSIBLE_HOME), the tools' caches (molecule, ansible-compat, ansible-lint, pip): .build/.
export ANSIBLE_HOME="$PWD/.build/ansible-home"
export ANSIBLE_LOCAL_TEMP="$ANSIBLE_HOME/tmp"
export ANSIBLE_REMOTE_TMP="$ANSIBLE_HOME/remote-tmp"
export ANSIBLE_ASYNC_DIR="$ANSIBLE_HOME/async"
export XDG_CACHE_HOME="$PWD/.build/cache"
export PIP_CACHE_DIR="$XDG_CACHE_HOME/pip"
# Where steps name what they skipped, one line each (scripts/matrix.sh, tests/conftest.py): listed at the end.
export EC2META_SKIPPED_LOG="$PWD/.build/skipped.txt"
mkdir -p .build
: > "$EC2META_SKIPPED_LOG"
times_file="$(mktemp)"
trap 'rm -f "$times_file"' EXIT

to_ms() { # to_ms 1m2.345s -> 62345
    local minutes="${1%%m*}" seconds="${1#*m}"
    seconds="${seconds%s}"
    echo $((minutes * 60000 + 10#${seconds%.*} * 1000 + 10#${seconds#*.}))
}
cpu_ms=0
read_cpu() { # cpu_ms = user + system time of this shell's finished child processes (bash's `times`, second line)
    # Not in a $(...): a subshell's `times` counts only the subshell's own children.
    local user system
    times > "$times_file"
    read -r user system < <(sed -n 2p "$times_file")
    cpu_ms=$(($(to_ms "$user") + $(to_ms "$system")))
}

started=$SECONDS
timings=()
step_name=""
step_started=$SECONDS
step_cpu=0
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
    read_cpu
    if [ -n "$step_name" ]; then
        timings+=("$(printf '%6d %7d  %s' "$((SECONDS - step_started))" "$(((cpu_ms - step_cpu) / 1000))" \
            "$step_name")")
    fi
    step_name="$*"
    step_started=$SECONDS
    step_cpu=$cpu_ms
    if [ -n "$step_name" ]; then
        echo
        echo "==> $* (at $((SECONDS - started))s)"
    fi
}

# The unit test files that cover what differs from main (committed on this branch, staged, unstaged or new): a
# changed unit test file itself; for a changed plugin, module_utils or emulator file NAME.py, the unit test files
# named test_NAME*.py and those that import it. Changed tests outside tests/unit are named, not run.
changed_unit_tests() {
    local base file name dotted
    base="$(git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null || git rev-parse HEAD)"
    { git diff --name-only "$base" --; git ls-files --others --exclude-standard; } | sort -u | while read -r file; do
        [ -e "$file" ] || continue
        name="$(basename "$file" .py)"
        case "$file" in
            tests/unit/*/test_*.py | tests/unit/test_*.py) echo "$file" ;;
            tests/*/test_*.py) echo "changed, not run by --quick: $file" >&2 ;;
            plugins/*.py)
                dotted="$(sed 's/\.py$//; s#/#.#g' <<< "$file")"
                find tests/unit -name "test_${name#_}*.py"
                grep -rlE --include='test_*.py' "${dotted//./\\.}\b|${dotted%.*}\s+import\s+(.*,\s*)?$name\b" \
                    tests/unit || true
                ;;
            tests/emulator/*.py)
                find tests/unit/emulator -name "test_${name#imds_}*.py"
                grep -rlE --include='test_*.py' "^\s*(from|import) $name\b" tests/unit || true
                ;;
        esac
    done | sort -u
}

# The full run's steps, each a function; run_lanes runs them two at a time. Most steps keep one core busy at most
# (ansible-test, molecule, the importer, ansible-lint; playbook runs and the hostile-server tests wait on moto, the
# emulator and timeouts): one after the other they left the second core idle for half the run. Each step's output
# goes to its own log, printed whole when the step ends, so the lines of two steps never mix.
step_ruff() {
    run ruff format --check --quiet .
    run ruff check --quiet .
}
step_artifact() {
    run bash scripts/artifact.sh
    touch "$steps_dir/artifact.done"
}
# The fault matrix and adversarial tests run in step_under_load, under load, with the same .venv: once is enough.
# Two steps, not one: the playbook-driven tests alone take longer than any other step, and a step is what a lane
# takes. Work stealing: the long tests do not end up alone on one core at the end.
step_pytest() { # step_pytest integration|unit
    run python -m pytest -n 2 --dist worksteal -q "tests/$1" \
        --ignore tests/unit/fault_matrix --ignore tests/integration/test_adversarial.py
}
step_matrix() { # step_matrix PART: one part of the CI matrix (scripts/matrix.sh --ci)
    if [ "$1" = smoke ]; then # the smoke cells use step_artifact's build: wait for it rather than build it twice
        while [ ! -e "$steps_dir/artifact.done" ]; do sleep 1; done
    fi
    run bash scripts/matrix.sh --ci --parts "$1"
}
step_under_load() { run bash scripts/under_load.sh; }
# The newest ansible-core's sanity (2.21 rejected what 2.19 took); scripts/matrix.sh runs it on every core.
step_sanity() { run bash scripts/matrix.sh --parts sanity --cores 2.21; }
step_integration() { run bash scripts/integration.sh; }
step_docs_and_demo() {
    # tests/home/ runs scripts/docs.sh and scripts/demo.sh and fails if either wrote to HOME.
    run python -m pytest -q -p no:cacheprovider -s tests/home
}
step_molecule() { run env -C roles/instance_metadata molecule test --scenario-name "$1"; }
step_importer() { run bash scripts/importer.sh; }
step_eda() {
    # ansible-rulebook's own venv first, outside pytest: the tests run with the network guard, which refuses pip.
    run bash scripts/eda_venv.sh
    run python -m pytest -q -p no:xdist tests/eda
}
step_ansible_lint() { run ansible-lint --profile production --offline --nocolor; }

# The queue, longest first (so that no long step starts last, alone), but the artifact early: the smoke cells need
# it. One line per step: its function, its argument and its name. Each lane takes the next line when it is free.
full_steps() {
    local scenario_file scenario
    printf '%s\n' \
        "step_ruff||ruff" \
        "step_artifact||the artifact: build, file list, EE context, install, smoke playbook" \
        "step_pytest|integration|pytest: the playbook-driven tests (tests/integration, but the adversarial ones)" \
        "step_matrix|unit|version matrix, CI part, unit: the ansible_core tests on ansible-core 2.17 and 2.21" \
        "step_integration||ansible-test integration (--venv, Python 3.11): every target with its own emulator and moto" \
        "step_under_load||fault matrix and adversarial tests under load: two CPU burners compete for the cores" \
        "step_pytest|unit|pytest: the unit tests (tests/unit, but the fault matrix), ansible-core 2.19 in .venv" \
        "step_sanity||ansible-test sanity (ansible-core 2.21)" \
        "step_matrix|smoke|version matrix, CI part, smoke: ansible-core 2.17 and 2.21, oldest and newest host Python" \
        "step_docs_and_demo||docs and demo with HOME an empty directory: changelog and docs lint, Sphinx, screenshot; the demo"
    # A scenario is a directory with a molecule.yml; molecule/shared/ only holds the playbooks they share.
    for scenario_file in roles/instance_metadata/molecule/*/molecule.yml; do
        scenario="$(basename "$(dirname "$scenario_file")")"
        echo "step_molecule|$scenario|molecule test: $scenario"
    done
    printf '%s\n' \
        "step_importer||galaxy-importer on the built tarball (Automation Hub's checks)" \
        "step_eda||Event-Driven Ansible: the real ansible-rulebook runs the imds_events rulebook (emulator + moto)" \
        "step_ansible_lint||ansible-lint (production profile, whole repository)"
}

steps_dir=".build/steps"
lanes_started=$SECONDS
# run_step ID NAME FUNCTION [ARGUMENT]: the step in a subshell, its output in $steps_dir/ID.log (printed whole at its
# end), its wall and CPU seconds (bash's `times` in that subshell: every process the step ran, the burners of the
# under-load step included) and whether a command of it failed, in $steps_dir/summary.tsv.
run_step() {
    local id="$1" name="$2" function="$3" argument="${4:-}" started=$SECONDS status=0
    echo "==> $name: started at $((SECONDS - lanes_started))s"
    (
        set +e
        step_failed=0
        run() { # one command of the step; its failure fails the step and the step goes on
            if ! "$@"; then
                echo "==> FAILED ($*)"
                step_failed=1
            fi
        }
        if [ -n "$argument" ]; then "$function" "$argument"; else "$function"; fi
        times > "$steps_dir/$id.times"
        exit "$step_failed"
    ) > "$steps_dir/$id.log" 2>&1 < /dev/null || status=1
    local user system
    read -r user system < <(sed -n 2p "$steps_dir/$id.times" 2>/dev/null || echo "0m0.0s 0m0.0s")
    local wall=$((SECONDS - started)) cpu=$((($(to_ms "$user") + $(to_ms "$system")) / 1000))
    local verdict=passed
    [ "$status" -eq 0 ] || verdict=FAILED
    {
        flock 9
        printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$wall" "$cpu" "$verdict" "$name" >> "$steps_dir/summary.tsv"
        echo
        echo "==> $name"
        cat "$steps_dir/$id.log"
        echo "==> $name: $verdict in ${wall}s (CPU ${cpu}s)"
    } 9> "$steps_dir/print.lock"
}
lane() { # takes the next step of the queue until none is left
    local line id function argument name
    while :; do
        line="$(flock "$steps_dir/queue.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' - "$steps_dir/queue")"
        [ -n "$line" ] || return 0
        IFS='|' read -r id function argument name <<< "$line"
        run_step "$id" "$name" "$function" "$argument"
    done
}
run_lanes() {
    rm -rf "$steps_dir"
    mkdir -p "$steps_dir"
    full_steps | awk '{ printf "%02d|%s\n", NR, $0 }' > "$steps_dir/queue"
    echo "==> $(wc -l < "$steps_dir/queue") steps, two at a time; each step's output is printed when it ends"
    lane &
    local first=$!
    lane &
    local second=$!
    wait "$first" || true
    wait "$second" || true
    local id wall cpu verdict name
    while IFS=$'\t' read -r id wall cpu verdict name; do
        timings+=("$(printf '%6d %7d  %s' "$wall" "$cpu" "$name")")
        [ "$verdict" = passed ] || failed_steps+=("$name")
    done < <(sort -n "$steps_dir/summary.tsv")
    if [ "$(wc -l < "$steps_dir/summary.tsv")" -ne "$(full_steps | wc -l)" ]; then
        failed_steps+=("the lanes: a step did not report (see $steps_dir/)")
    fi
}

if [ "$quick" = true ]; then
    step "ruff"
    run ruff format --check --quiet .
    run ruff check --quiet .

    step "pytest: the unit tests of what changed"
    mapfile -t unit_tests < <(changed_unit_tests)
    if [ "${#unit_tests[@]}" -eq 0 ]; then
        echo "no changed file maps to a unit test: the core set (client, a module, the lookup, the examples)"
        unit_tests=(tests/unit/plugins/module_utils/test_client.py tests/unit/plugins/modules/test_metadata_facts.py
            tests/unit/plugins/lookup/test_metadata.py tests/unit/plugins/test_examples.py)
    fi
    printf '    %s\n' "${unit_tests[@]}"
    run python -m pytest -n 2 -q "${unit_tests[@]}"

    step "smoke playbook against the checkout (ansible-core 2.19, host Python 3.11)"
    run bash scripts/smoke.sh .build/collections .venv "$PWD/.venv/bin/python"
else
    run_lanes
fi
step ""

echo
echo "==> time per step (seconds; CPU is user + system of every process the step ran)"
[ "$quick" = true ] || echo "    two steps run at a time: their wall times add up to more than the total"
echo "  wall     CPU  step"
printf '%s\n' "${timings[@]}"
read_cpu
printf '%6d %7d  total\n' "$((SECONDS - started))" "$((cpu_ms / 1000))"
mapfile -t skipped < <(sort -u "$EC2META_SKIPPED_LOG")
echo
if [ "${#skipped[@]}" -gt 0 ]; then
    echo "==> ${#skipped[@]} skipped:"
    printf '    %s\n' "${skipped[@]}"
fi
if [ "${#failed_steps[@]}" -gt 0 ]; then
    echo "==> ${#failed_steps[@]} step(s) failed, in $((SECONDS - started))s:"
    printf '    %s\n' "${failed_steps[@]}"
    exit 1
fi
what="all tests"
[ "$quick" = true ] && what="the quick loop's tests"
if [ "${#skipped[@]}" -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
        echo "==> no step failed, but ${#skipped[@]} skipped: CI must run everything"
        exit 1
    fi
    echo "==> no step failed, but not all tests ran: ${#skipped[@]} skipped (above), in $((SECONDS - started))s"
    exit 0
fi
echo "==> $what passed in $((SECONDS - started))s"
