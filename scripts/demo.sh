#!/usr/bin/env bash
# The demo: starts the IMDS emulator and a moto server on 127.0.0.1 (an EC2 instance in moto that the emulator
# answers for), gathers facts, probes IMDS, enforces IMDSv2 with the role and verifies it. Nothing leaves
# loopback: the network guard is on, and the run fails if anything tried. Nothing is written outside the checkout
# and the temp dir (tests/home/ checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

state_dir="$(mktemp -d)"
trap '.venv/bin/python tests/emulator/services.py stop --state-dir "$state_dir"; rm -rf "$state_dir"' EXIT

export PYTHONPATH="$PWD/tests/network_guard"
export EC2META_NETWORK_GUARD_LOG="$state_dir/network_guard.log"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
# Nothing outside the checkout and the temp dir: ansible's home, its temp dirs on the controller and on the managed
# host (localhost; remote_tmp does not follow ANSIBLE_HOME) go to .build/, as in scripts/test.sh.
export ANSIBLE_HOME="$PWD/.build/ansible-home"
export ANSIBLE_LOCAL_TEMP="$ANSIBLE_HOME/tmp" ANSIBLE_REMOTE_TMP="$ANSIBLE_HOME/remote-tmp"
export ANSIBLE_ASYNC_DIR="$ANSIBLE_HOME/async"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

echo "==> starting the IMDS emulator and moto on 127.0.0.1"
services="$(.venv/bin/python tests/emulator/services.py start --state-dir "$state_dir" --ec2-instance)"
echo "$services"

.venv/bin/ansible-playbook -i demo/inventory.yml demo/site.yml -e "{\"demo_services\": $services}" "$@"

if [ -s "$EC2META_NETWORK_GUARD_LOG" ]; then
    echo "the demo tried to reach addresses outside loopback:" >&2
    cat "$EC2META_NETWORK_GUARD_LOG" >&2
    exit 1
fi
