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

# ansible-test bootstraps pip in each venv with a script it downloads from a host this machine cannot reach.
# This stand-in does the same job offline: ensurepip, then pip install with the arguments it was given.
pip_version="$("$sanity_venv/bin/python" - <<'PY'
import re, ansible_test, pathlib
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", source.read_text()).group(1))
PY
)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<'PY'
# Offline stand-in for ansible-test's get-pip download (written by ec2meta.imds scripts/sanity.sh).
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
if args and args[0] == "install":
    args = args[1:]
# In a subprocess: ensurepip run in-process turns pip's configuration off for the rest of the process.
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True)
subprocess.run([sys.executable, "-m", "pip", "install", *args], check=True)
PY

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
