#!/usr/bin/env bash
# galaxy-importer on the built tarball, with the checks Automation Hub turns on (tests/importer/galaxy-importer.cfg:
# version >= 1.0.0, a required tag, ansible-doc, ansible-lint, flake8 on plugins). The importer pins its own
# ansible-core and ansible-lint, so it lives in its own venv, .build/importer/ (made once; again when the pin
# changes). It logs lint and flake8 findings as warnings and still exits 0: this script fails on any warning.
# Leaves .build/importer-run/: the tarball, importer.log (its output) and importer_result.json (what it found).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
importer_version="0.4.44"
venv=".build/importer"
if [ "$(cat "$venv/.version" 2>/dev/null || true)" != "$importer_version" ]; then
    echo "==> installing galaxy-importer $importer_version into $venv"
    rm -rf "$venv"
    "${PYTHON:-$(command -v python3.11 || command -v python3)}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "galaxy-importer==$importer_version"
    echo "$importer_version" > "$venv/.version"
fi

out="$PWD/.build/importer-run"
rm -rf "$out"
mkdir -p "$out/tmp"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$out" >/dev/null
tarball="$(ls "$out"/ec2meta-imds-*.tar.gz)"

echo "==> galaxy-importer $(basename "$tarball")"
# Everything the importer and the tools it starts write stays in $out: its temp dirs, ansible's local temp and
# caches (XDG_CACHE_HOME), and HOME for anything that still reaches for ~/.ansible.
status=0
# From $out: the importer writes importer_result.json into its working directory.
(cd "$out" && env -u ANSIBLE_COLLECTIONS_PATH PATH="$root/$venv/bin:$PATH" HOME="$out/home" \
    GALAXY_IMPORTER_CONFIG="$root/tests/importer/galaxy-importer.cfg" \
    GALAXY_IMPORTER_TMP_ROOT_DIR="$out/tmp" GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP="$out/tmp/ansible" \
    "$root/$venv/bin/python" -m galaxy_importer.main "$tarball") > "$out/importer.log" 2>&1 || status=$?
cat "$out/importer.log"
if [ "$status" -ne 0 ]; then
    echo "galaxy-importer failed (exit $status)" >&2
    exit 1
fi
# Any WARNING or ERROR line fails the step, with no list of exceptions: a user who uploads sees every one of them.
if grep -E '^(WARNING|ERROR)' "$out/importer.log" >&2; then
    echo "galaxy-importer reported the findings above" >&2
    exit 1
fi
echo "galaxy-importer: no warnings, no errors"
