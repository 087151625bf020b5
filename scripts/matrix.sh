#!/usr/bin/env bash
# The supported versions, tested: ansible-core 2.17 to 2.21 on the controller (each in its own virtual
# environment on a Python it supports), Python 3.8, 3.9, 3.11 and 3.13 on the managed host.
#
#   scripts/matrix.sh          everything: the smoke playbook for every ansible-core x host Python, then the unit
#                              tests and ansible-test sanity on every ansible-core
#   scripts/matrix.sh --ci     what CI runs (scripts/test.sh): the oldest and the newest ansible-core (2.17, 2.21),
#                              each with the oldest host Python it manages (3.8, 3.9) and the newest (3.13), and on
#                              both the unit tests marked ansible_core: those that touch what changes between
#                              ansible-core versions (tests/conftest.py marks them). The rest is plain Python over
#                              requests, boto3 and the emulator, run once on .venv's 2.19 by scripts/test.sh, which
#                              also runs this script's sanity part on 2.21.
#   --cores "2.17 2.20"  --hosts "3.8 3.13"  --parts "smoke unit sanity"   pick a part of it
#   --unit-marked        the unit part runs only the ansible_core tests (what --ci does)
#
# The smoke runs against the artifact installed by scripts/artifact.sh (built first if missing). Interpreters come
# from pyenv ($(pyenv root)/versions/3.N.*) or PATH. A cell whose Python is missing is skipped with a line naming
# the Python and how to get it, and the rest runs; under CI=true (CI has every Python) that cell fails instead.
# Skipped cells are also named in $EC2META_SKIPPED_LOG when it is set (scripts/test.sh lists them at its end).
# Virtual environments live in .build/matrix/, reinstalled only when their requirements change. Results: a table on
# stdout and in .build/matrix/results.md.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root="$PWD"

declare -A CORE_PIN=([2.17]=2.17.14 [2.18]=2.18.19 [2.19]=2.19.14 [2.20]=2.20.10 [2.21]=2.21.5)
declare -A CORE_PYTHON=([2.17]=3.10 [2.18]=3.11 [2.19]=3.11 [2.20]=3.13 [2.21]=3.13)
# The oldest managed-host Python each ansible-core supports: 2.20 dropped 3.8; 2.21 manages 3.9 to 3.14 (its
# ansible-test's REMOTE_ONLY_PYTHON_VERSIONS and CONTROLLER_PYTHON_VERSIONS).
declare -A CORE_MIN_HOST=([2.17]=3.8 [2.18]=3.8 [2.19]=3.8 [2.20]=3.9 [2.21]=3.9)
cores="2.17 2.18 2.19 2.20 2.21"
hosts="3.8 3.9 3.11 3.13"
parts="smoke unit sanity"
unit_selection=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ci) cores="2.17 2.21" hosts="ci" parts="smoke unit" unit_selection=(-m ansible_core) ;;
        --unit-marked) unit_selection=(-m ansible_core) ;;
        --cores) cores="$2"; shift ;;
        --hosts) hosts="$2"; shift ;;
        --parts) parts="$2"; shift ;;
        *) echo "unknown argument: $1 (see the top of $0)" >&2; exit 2 ;;
    esac
    shift
done

bash scripts/bootstrap.sh >/dev/null
# pip's cache in the checkout, not ~/.cache/pip (unless the caller chose one), shared with .venv's.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$root/.build/cache/pip}"
out=".build/matrix"
mkdir -p "$out"
# This run's results: scripts/test.sh runs two of these at once (the CI part, and sanity in its other lane).
results="$(mktemp "$out/results.XXXXXX")"
missing_pythons="$(mktemp "$out/missing-pythons.XXXXXX")"
trap 'rm -f "$results" "$missing_pythons"' EXIT

pyenv_root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
find_python() { # find_python 3.N -> the path of a python3.N, or nothing
    local candidate
    for candidate in "$pyenv_root"/versions/"$1".*/bin/python"$1" "$(command -v "python$1" || true)"; do
        if [ -x "$candidate" ] && "$candidate" -c 'import venv' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
}
need_python() {
    local found
    found="$(find_python "$1")"
    if [ -z "$found" ]; then
        echo "Python $1 is needed ($2) but was not found under $pyenv_root/versions/$1.* or as python$1 on PATH:" >&2
        echo "install it (pyenv install $1, or your system's python$1 package with venv support) and run again." >&2
        exit 3
    fi
    echo "$found"
}

# venv DIR PYTHON REQUIREMENT_FILE [EXTRA_REQUIREMENT...]: create or refresh DIR; a stamp of the inputs' hash
# skips the install when nothing changed.
venv() {
    local dir="$1" python="$2" file="$3"
    shift 3
    local wanted lock
    wanted="$(cat "$file" <(printf '%s\n' "$@" "$python") | sha256sum | cut -d' ' -f1)"
    # Two runs at once (scripts/test.sh's lanes) must not build one venv twice: the second waits for the first.
    mkdir -p "$(dirname "$dir")"
    exec {lock}> "$dir.lock"
    flock "$lock"
    if [ "$(cat "$dir/.requirements.sha256" 2>/dev/null || true)" = "$wanted" ]; then
        exec {lock}>&-
        return
    fi
    echo "==> installing $dir ($("$python" --version), $*)"
    local started=$SECONDS
    rm -rf "$dir"
    "$python" -m venv "$dir"
    if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$file" "$@" > "$dir.log" 2>&1; then
        grep -v "^WARNING: Location" "$dir.log" | tail -20
        echo "installing $dir failed (full log: $dir.log)"
        return 1
    fi
    echo "$wanted" > "$dir/.requirements.sha256"
    echo "    installed in $((SECONDS - started))s"
    exec {lock}>&-
}

controller_venv() { # the virtual environment for ansible-core $1; 2.19 is .venv, the development one
    if [ "$1" = 2.19 ]; then
        echo "$root/.venv"
        return
    fi
    local python dir="$root/$out/core-$1"
    python="$(need_python "${CORE_PYTHON[$1]}" "ansible-core $1 on the controller")"
    venv "$dir" "$python" requirements-controller.txt "ansible-core==${CORE_PIN[$1]}" >&2
    echo "$dir"
}

host_python() { # a Python $1 with requests: shared with a controller venv where one has that Python
    case "$1" in
        3.11) echo "$root/.venv/bin/python" ;;
        3.13) echo "$(controller_venv 2.21)/bin/python" ;;
        *)
            local python dir="$root/$out/host-$1"
            python="$(need_python "$1" "Python $1 as a managed host")"
            venv "$dir" "$python" requirements-host.txt >&2
            echo "$dir/bin/python"
            ;;
    esac
}

record() { # record PART CORE HOST SECONDS STATUS
    printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$results"
}

# The Pythons a cell needs beyond .venv's (which runs ansible-core 2.19 and serves as the 3.11 host).
controller_needs() { [ "$1" = 2.19 ] || echo "${CORE_PYTHON[$1]}"; }
host_needs() { [ "$1" = 3.11 ] || echo "$1"; }

# runnable PART CORE HOST PYTHON...: true when every Python named is found; otherwise says which is missing and
# records the cell as skipped (failed under CI=true, where every Python is installed).
runnable() {
    local part="$1" core="$2" host="$3" version missing=()
    shift 3
    # A cell can name one Python twice (2.21's controller and its newest host are both 3.13): each once, in order.
    for version in $(printf '%s\n' "$@" | sort -uV); do
        [ -n "$(find_python "$version")" ] || missing+=("$version")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    printf '%s\n' "${missing[@]}" >> "$missing_pythons"
    local why="Python ${missing[*]} not found under $pyenv_root/versions/ or on PATH (pyenv install ${missing[*]})"
    if [ "${CI:-}" = true ]; then
        echo "==> $part: ansible-core $core, Python $host: FAIL, $why; CI must have every Python" >&2
        record "$part" "$core" "$host" 0 FAIL
    else
        echo "==> $part: ansible-core $core, Python $host: skipped, $why; the other cells still run"
        record "$part" "$core" "$host" 0 "skipped (no Python ${missing[*]})"
        if [ -n "${EC2META_SKIPPED_LOG:-}" ]; then
            echo "matrix: $part, ansible-core $core, Python $host: no Python ${missing[*]}" >> "$EC2META_SKIPPED_LOG"
        fi
    fi
    return 1
}

run_cell() { # run_cell PART CORE HOST COMMAND...: runs it, logs to $out/PART-CORE-HOST.log, records the result
    local part="$1" core="$2" host="$3" started=$SECONDS status=pass
    shift 3
    local log="$out/$part-$core-$host.log"
    echo "==> $part: ansible-core $core, Python $host"
    if ! "$@" > "$log" 2>&1; then
        status=FAIL
        tail -40 "$log" >&2
    fi
    record "$part" "$core" "$host" "$((SECONDS - started))" "$status"
    echo "    $status in $((SECONDS - started))s (log: $log)"
}

if [[ " $parts " == *" smoke "* ]]; then
    if [ ! -d .build/artifact/collections/ansible_collections/ec2meta/imds ]; then
        bash scripts/artifact.sh >/dev/null
    fi
    for core in $cores; do
        core_hosts="$hosts"
        if [ "$hosts" = ci ]; then # the oldest host Python this ansible-core manages, and the newest
            core_hosts="${CORE_MIN_HOST[$core]} 3.13"
        fi
        for host in $core_hosts; do
            if [ "$(printf '%s\n' "$host" "${CORE_MIN_HOST[$core]}" | sort -V | head -1)" != "${CORE_MIN_HOST[$core]}" ]; then
                record smoke "$core" "$host" 0 "n/a (manages ${CORE_MIN_HOST[$core]}+)"
                continue
            fi
            # shellcheck disable=SC2046 # one word per Python version
            runnable smoke "$core" "$host" $(controller_needs "$core") $(host_needs "$host") || continue
            run_cell smoke "$core" "$host" bash scripts/smoke.sh .build/artifact/collections \
                "$(controller_venv "$core")" "$(host_python "$host")"
        done
    done
fi

if [[ " $parts " == *" unit "* ]]; then
    for core in $cores; do
        runnable unit "$core" "${CORE_PYTHON[$core]}" $(controller_needs "$core") || continue
        controller="$(controller_venv "$core")"
        run_cell unit "$core" "${CORE_PYTHON[$core]}" "$controller/bin/python" -m pytest -q -n 2 \
            "${unit_selection[@]}" tests/unit
    done
fi

if [[ " $parts " == *" sanity "* ]]; then
    for core in $cores; do
        runnable sanity "$core" "${CORE_PYTHON[$core]}" "${CORE_PYTHON[$core]}" || continue
        controller="$(controller_venv "$core")"
        python_dir="$(dirname "$(need_python "${CORE_PYTHON[$core]}" "ansible-test sanity for $core")")"
        run_cell sanity "$core" "${CORE_PYTHON[$core]}" env PATH="$python_dir:$PATH" SANITY_VENV="$controller" \
            SANITY_PYTHON="${CORE_PYTHON[$core]}" bash scripts/sanity.sh
    done
fi

{
    echo "| part | ansible-core | Python (host for smoke, controller otherwise) | result | seconds |"
    echo "|---|---|---|---|---|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $5, $4}' "$results"
} > "$out/results.md"
echo
cat "$out/results.md"
failed="$(awk -F'\t' '$5 == "FAIL"' "$results" | wc -l)"
passed="$(awk -F'\t' '$5 == "pass"' "$results" | wc -l)"
skipped="$(awk -F'\t' '$5 ~ /^skipped/' "$results" | wc -l)"
echo
echo "matrix: $passed passed, $failed failed, $skipped skipped for a missing Python"
if [ -s "$missing_pythons" ]; then
    echo "to run every cell: pyenv install $(sort -uV "$missing_pythons" | paste -sd' ' -)"
fi
[ "$failed" -eq 0 ]
