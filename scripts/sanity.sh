#!/usr/bin/env bash
# ansible-test sanity on a clean copy of the collection, in its own virtual environments (--venv).
# Extra arguments go to ansible-test, e.g. scripts/sanity.sh --test validate-modules
# SANITY_VENV (default .venv) picks the ansible-core, SANITY_PYTHON (default 3.11) the Python it tests with:
# scripts/matrix.sh runs it for every supported ansible-core.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
sanity_venv="${SANITY_VENV:-$root/.venv}"
sanity_python="${SANITY_PYTHON:-3.11}"

# HOME in .build/ and the offline pip bootstrap: see the sourced script.
source scripts/ansible-test-home.sh "$sanity_venv"

# Outside this git work tree: ansible-test asks git for the file list, and git would ignore a copy under .build/.
# A fresh directory per run: two runs at once (the matrix, another checkout) must not share a copy.
copy_root="$(mktemp -d "${TMPDIR:-/tmp}/ec2meta-imds-sanity.XXXXXX")"
trap 'rm -rf "$copy_root"' EXIT
copy="$copy_root/ansible_collections/ec2meta/imds"
mkdir -p "$copy"
# The files git knows about (tracked, or new and not ignored): what CI sees on a clean clone.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ -e "$file" ] && printf '%s\0' "$file"
done | tar --null -T - -cf - | tar -xf - -C "$copy"
cd "$copy"
"$sanity_venv/bin/ansible-test" sanity --venv --python "$sanity_python" --color no "$@"
