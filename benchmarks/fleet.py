# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet scale: one playbook over N hosts (local connection), each host pointed at its own emulated instance.

Every host gathers facts through gather_facts (ansible_facts_modules = ec2meta.imds.metadata_facts), checks them
against its own instance, and runs the role's verify entry point (probe + role credentials). A second pass
throttles every emulator (429 above a rate) and must still succeed on every host.

    .venv/bin/python benchmarks/fleet.py [--hosts 100] [--forks 10 20] [--throttle-rps 10]

Prints a table: total wall time, per-host cost, requests per host, 429s answered. Nothing leaves loopback: the
network guard runs in every process and the script fails if it recorded anything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "emulator"))
sys.path.insert(0, str(REPO / "tests" / "network_guard"))

import sitecustomize as network_guard  # noqa: E402
from imds_emulator import ImdsEmulator  # noqa: E402

PLAYBOOK = """
- name: Gather EC2 facts and verify IMDS on every host
  hosts: fleet
  gather_facts: true
  strategy: "{{ fleet_strategy }}"
  vars:
    ansible_facts_modules: [ec2meta.imds.metadata_facts]
  module_defaults:
    group/ec2meta.imds.imds:
      endpoint: "{{ imds_endpoint }}"
  tasks:
    - name: The facts are this host's own instance
      ansible.builtin.assert:
        that:
          - ansible_facts.ec2.instance_id == expected_instance_id
          - ansible_facts.ec2.placement.region == 'eu-west-1'
        quiet: true

    - name: Verify IMDS and the role credentials
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
        tasks_from: verify
      vars:
        instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
        instance_metadata_http_tokens: optional
        instance_metadata_tags: enabled
        instance_metadata_expected_role: web-server-role
"""


def start_fleet(count: int) -> list[ImdsEmulator]:
    fleet = []
    for index in range(count):
        emulator = ImdsEmulator().start()
        instance_id = f"i-{index + 1:017x}"
        emulator.set_metadata("instance-id", instance_id)
        emulator.update_identity_document(instanceId=instance_id)
        fleet.append(emulator)
    return fleet


def write_inventory(path: Path, fleet: list[ImdsEmulator]) -> None:
    hosts = {
        f"host{index + 1:03d}": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "imds_endpoint": emulator.url,
            "expected_instance_id": emulator.metadata["instance-id"],
        }
        for index, emulator in enumerate(fleet)
    }
    path.write_text(json.dumps({"all": {"children": {"fleet": {"hosts": hosts}}}}), encoding="utf-8")


def run(workdir: Path, forks: int, strategy: str, environment: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(workdir / "inventory.json"),
            "-f",
            str(forks),
            "-e",
            json.dumps({"fleet_strategy": strategy}),
            str(workdir / "fleet.yml"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    return time.monotonic() - started, completed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--forks", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--throttle-rps", type=float, default=40.0, help="per-instance 429 threshold, last pass")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ec2meta-fleet-"))
    guard_log = workdir / "network_guard.log"
    os.environ["EC2META_NETWORK_GUARD_LOG"] = str(guard_log)
    network_guard.install()
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO / "tests" / "network_guard"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    (workdir / "fleet.yml").write_text(PLAYBOOK, encoding="utf-8")
    fleet = start_fleet(args.hosts)
    write_inventory(workdir / "inventory.json", fleet)

    rows = []
    passes = [(forks, "linear", None) for forks in args.forks]
    passes += [(args.forks[-1], "free", None), (args.forks[-1], "free", args.throttle_rps)]
    try:
        for forks, strategy, throttle in passes:
            for emulator in fleet:
                emulator.reset_counters()
                emulator.set_options(throttle_rps=throttle)
            seconds, completed = run(workdir, forks, strategy, environment)
            if completed.returncode != 0:
                print(completed.stdout[-5000:], completed.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"the fleet run failed (forks={forks}, strategy={strategy}, throttle={throttle})")
            requests = sum(emulator.counters["total"] for emulator in fleet)
            throttled = sum(emulator.counters["status_429"] for emulator in fleet)
            rows.append(
                (forks, strategy, throttle or "-", seconds, seconds / args.hosts, requests / args.hosts, throttled)
            )
    finally:
        for emulator in fleet:
            emulator.stop()

    print(
        f"\nFleet of {args.hosts} hosts: gather_facts (metadata_facts) + role verify (probe, role_credentials_info)\n"
    )
    print(f"{'forks':>5} {'strategy':>8} {'429 above':>9} {'total s':>8} {'s/host':>7} {'req/host':>8} {'429s':>5}")
    for forks, strategy, throttle, seconds, per_host, per_host_requests, throttled in rows:
        print(
            f"{forks:>5} {strategy:>8} {throttle!s:>9} {seconds:>8.1f} {per_host:>7.3f} "
            f"{per_host_requests:>8.1f} {throttled:>5}"
        )
    if guard_log.exists() and guard_log.read_text().strip():
        raise SystemExit(f"connections outside loopback were attempted: {guard_log.read_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
