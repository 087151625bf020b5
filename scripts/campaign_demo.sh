#!/usr/bin/env bash
# The IMDSv2 campaign against moto, as docs/docsite/rst/guide_imdsv2_campaign.rst shows it: starts moto (with the
# stand-ins of tests/emulator/MOTO_GAPS.md) on 127.0.0.1, builds a fleet in two regions
# (tests/emulator/fleet_builder.py), and runs the four phases of ec2meta.imds.imdsv2_campaign, writing the reports
# to ${1:-./imdsv2-campaign}. Nothing leaves loopback: the network guard is on, and the run fails if anything tried.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
report_dir="$(realpath -m "${1:-imdsv2-campaign}")"

state_dir="$(mktemp -d)"
trap 'kill "$(cat "$state_dir/moto.pid")" 2>/dev/null || true; rm -rf "$state_dir"' EXIT

export PYTHONPATH="$PWD/tests/network_guard:$PWD/tests/emulator"
export EC2META_NETWORK_GUARD_LOG="$state_dir/network_guard.log"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

echo "==> starting moto on 127.0.0.1"
.venv/bin/python tests/emulator/services.py moto --port-file "$state_dir/moto.port" > "$state_dir/moto.log" 2>&1 &
echo $! > "$state_dir/moto.pid"
for _ in $(seq 300); do [ -s "$state_dir/moto.port" ] && break; sleep 0.1; done
endpoint="http://127.0.0.1:$(cat "$state_dir/moto.port")"

echo "==> a fleet in eu-west-1 and us-east-2"
.venv/bin/python tests/emulator/fleet_builder.py --endpoint "$endpoint" --regions eu-west-1 us-east-2 > /dev/null

for phase in audit instances launch_paths account; do
    echo "==> phase $phase"
    .venv/bin/ansible-playbook ec2meta.imds.imdsv2_campaign -e "campaign_phase=$phase" \
        -e '{"campaign_regions": ["eu-west-1", "us-east-2"]}' -e "campaign_endpoint_url=$endpoint" \
        -e "campaign_report_dir=$report_dir" -e "ansible_python_interpreter=$PWD/.venv/bin/python" \
        || echo "(phase $phase failed: see its report)"
done
echo "==> reports in $report_dir"

if [ -s "$EC2META_NETWORK_GUARD_LOG" ]; then
    echo "the demo tried to reach addresses outside loopback:" >&2
    cat "$EC2META_NETWORK_GUARD_LOG" >&2
    exit 1
fi
