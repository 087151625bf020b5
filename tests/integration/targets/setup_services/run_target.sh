#!/usr/bin/env bash
# run_target.sh TARGET [ansible-playbook options]: runs the tasks of TARGET (its tasks/main.yml, as a role)
# against a fresh IMDS emulator and a moto server, both on 127.0.0.1 and a free port, started here and stopped
# on exit whatever happens. Called by each target's runme.sh under ansible-test integration.
#
# The play gets imds_endpoint, emulator_control, moto_endpoint, aws_region and instance_id. It runs at -vvv with
# the network guard on; afterwards its output is searched for every credential value the emulator served
# (no target may print one, whatever it asserts itself), and the guard's log must be empty.
set -euo pipefail
target="$1"
shift
targets="$(cd "$(dirname "$0")/.." && pwd)"
tests="$(cd "$targets/../.." && pwd)"
python="$(command -v python)"

state_dir="$(mktemp -d "${TMPDIR:-/tmp}/ec2meta-imds-$target.XXXXXX")"
stop_services() {
    "$python" "$tests/emulator/services.py" stop --state-dir "$state_dir" || true
    rm -rf "$state_dir"
}
trap stop_services EXIT

export EC2META_NETWORK_GUARD_LOG="$state_dir/network-guard.log"
export PYTHONPATH="$tests/network_guard${PYTHONPATH:+:$PYTHONPATH}"
# moto accepts any keys; the outer shell's profile or IMDS settings must not leak into a run.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1
unset AWS_PROFILE AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE AWS_EC2_METADATA_DISABLED

services="$("$python" "$tests/emulator/services.py" start --state-dir "$state_dir")"
"$python" - "$services" "$tests/emulator/data/default_instance.json" "$python" > "$state_dir/vars.json" <<'PY'
import json
import sys

services = json.loads(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as handle:
    instance = json.load(handle)
print(json.dumps({
    "ansible_python_interpreter": sys.argv[3],
    "imds_endpoint": services["imds_endpoint"],
    "emulator_control": services["imds_endpoint"] + "/_emulator",
    "moto_endpoint": services["moto_endpoint"],
    "aws_region": "eu-west-1",
    "instance_id": instance["meta-data"]["instance-id"],
}))
PY
printf -- '- name: Integration target %s\n  hosts: localhost\n  gather_facts: false\n  roles:\n    - %s\n' \
    "$target" "$target" > "$state_dir/playbook.yml"

status=0
ANSIBLE_ROLES_PATH="$targets" ansible-playbook -i localhost, -c local -e "@$state_dir/vars.json" \
    "$state_dir/playbook.yml" -vvv "$@" > "$state_dir/output.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    tail -c 20000 "$state_dir/output.log"
    echo "ansible-playbook failed for $target (exit $status)" >&2
    exit "$status"
fi
grep -E '^(PLAY RECAP|localhost )' "$state_dir/output.log" || true

secrets="$("$python" -c 'import json, sys, urllib.request
print("\n".join(json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/issued-secrets", timeout=10))))' \
    "$(sed -n 's/.*"imds_endpoint": "\([^"]*\)".*/\1/p' <<< "$services")")"
if [ -n "$secrets" ] && grep -F -q -f <(printf '%s\n' "$secrets") "$state_dir/output.log"; then
    echo "$target printed credential values at -vvv" >&2
    exit 1
fi
if [ -s "$EC2META_NETWORK_GUARD_LOG" ]; then
    echo "$target tried to connect outside loopback:" >&2
    cat "$EC2META_NETWORK_GUARD_LOG" >&2
    exit 1
fi
echo "$target: passed, no credential value in its -vvv output, no connection outside loopback"
