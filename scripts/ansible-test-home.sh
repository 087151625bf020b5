# Sourced by scripts/sanity.sh and scripts/integration.sh before they run ansible-test (needs $root and $1, the
# venv whose ansible-test runs). ansible-test keeps its cache in ~/.ansible/test/cache and pip in ~/.cache/pip:
# HOME points into the checkout's .build/ instead, so nothing is written outside the checkout and the temp dir
# (and pip's cache is kept between runs).
#
# ansible-test bootstraps pip in each venv with a script it downloads from a host this machine cannot reach.
# The stand-in written here does the same job offline: ensurepip, then pip install with the arguments it was given.
ansible_test_venv="$1"
export HOME="$root/.build/ansible-test-home"
pip_version="$("$ansible_test_venv/bin/python" - <<'PY'
import re, ansible_test, pathlib
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", source.read_text()).group(1))
PY
)"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$get_pip")"
# Written to a new file and renamed: runs at once (scripts/matrix.sh) never read a half-written stand-in.
cat > "$get_pip.$$" <<'PY'
# Offline stand-in for ansible-test's get-pip download (written by ec2meta.imds scripts/ansible-test-home.sh).
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
if args and args[0] == "install":
    args = args[1:]
# In a subprocess: ensurepip run in-process turns pip's configuration off for the rest of the process.
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True)
subprocess.run([sys.executable, "-m", "pip", "install", *args], check=True)
PY
mv -f "$get_pip.$$" "$get_pip"
