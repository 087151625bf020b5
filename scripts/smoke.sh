#!/usr/bin/env bash
# The smoke playbook (tests/smoke/site.yml) against a fresh IMDS emulator and moto, with a given ansible-core
# and managed-host Python, against the collection installed at a given collections path (never the checkout).
#   scripts/smoke.sh COLLECTIONS_PATH CONTROLLER_VENV HOST_PYTHON
# The services run on .venv's Python (moto lives there); nothing leaves loopback (the network guard is on).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
collections="$(cd "$1" && pwd)"
controller_venv="$(cd "$2" && pwd)"
host_python="$3"

state_dir="$(mktemp -d)"
trap '"$root/.venv/bin/python" "$root/tests/emulator/services.py" stop --state-dir "$state_dir"; rm -rf "$state_dir"' EXIT
services="$(.venv/bin/python tests/emulator/services.py start --state-dir "$state_dir" --ec2-instance)"

export PYTHONPATH="$root/tests/network_guard"
export EC2META_NETWORK_GUARD_LOG="$state_dir/network_guard.log"
# Only the installed copy: no collections from sys.path (the ansible package), none next to the playbook.
export ANSIBLE_COLLECTIONS_PATH="$collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_ROLES_PATH="$state_dir/no-roles"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_NOCOLOR=1
unset AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE AWS_EC2_METADATA_DISABLED

installed="$("$controller_venv/bin/ansible-galaxy" collection list ec2meta.imds 2>/dev/null | sed -n 's/^# //p' | head -1)"
case "$installed" in
    "$collections"*) ;;
    *) echo "ec2meta.imds is not found under $collections (found: ${installed:-nothing})" >&2; exit 1 ;;
esac

cd "$state_dir"
"$controller_venv/bin/ansible-playbook" -i "$root/tests/smoke/inventory.yml" "$root/tests/smoke/site.yml" \
    -e "{\"smoke_services\": $services, \"smoke_host_python\": \"$host_python\"}"

if [ -s "$EC2META_NETWORK_GUARD_LOG" ]; then
    echo "the smoke run tried to reach addresses outside loopback:" >&2
    cat "$EC2META_NETWORK_GUARD_LOG" >&2
    exit 1
fi
