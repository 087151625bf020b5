# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role in check mode: it reports what it would change, changes nothing, and agrees with the real run after.

Against an emulator linked to a moto instance that starts with tokens optional: a --check run must pass and report a
change while moto still says optional; the real run changes it; a second --check run reports no change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
from imds_emulator import ImdsEmulator
from services import launch_instance

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

PLAYBOOK = """
- name: Enforce IMDSv2 with the role
  hosts: localhost
  gather_facts: false
  roles:
    - role: ec2meta.imds.instance_metadata
      vars:
        instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
        instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
        instance_metadata_aws_access_key: testing
        instance_metadata_aws_secret_key: testing
        instance_metadata_expected_role: web-server-role
"""


def http_tokens(moto_endpoint: str, instance_id: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return instance["MetadataOptions"]["HttpTokens"]


def changed_count(output: str) -> int:
    recap = output[output.rindex("PLAY RECAP") :]
    return int(recap.split("changed=", 1)[1].split()[0])


def test_check_mode_reports_and_changes_nothing(tmp_path, moto_endpoint):
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    with ImdsEmulator() as emulator:
        instance = launch_instance({"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True)
        # The inventory's instance_id (as amazon.aws.aws_ec2 sets it) proves the id the host's IMDS claims.
        extra_vars = {
            "imds_endpoint": emulator.url,
            "moto_endpoint": moto_endpoint,
            "instance_id": instance["instance_id"],
        }

        check = run_playbook(playbook, extra_vars, verbosity="--check")
        check_output = check.stdout + check.stderr
        assert check.returncode == 0, check_output[-10000:]
        assert changed_count(check_output) >= 1
        assert http_tokens(moto_endpoint, instance["instance_id"]) == "optional"

        real = run_playbook(playbook, extra_vars, verbosity="")
        real_output = real.stdout + real.stderr
        assert real.returncode == 0, real_output[-10000:]
        assert http_tokens(moto_endpoint, instance["instance_id"]) == "required"
        # Right after the switch CloudWatch has no hour of refused calls: an Ansible warning saying when to look,
        # only where a switch happened (not in check mode, not when nothing changed).
        assert real_output.count("[WARNING]: Too early to tell whether IMDS refused") == 1, real_output[-10000:]
        assert "Too early to tell" not in check_output

        again = run_playbook(playbook, extra_vars, verbosity="--check")
        again_output = again.stdout + again.stderr
        assert again.returncode == 0, again_output[-10000:]
        assert changed_count(again_output) == 0
        assert "Too early to tell" not in again_output
        assert "WARNING: " not in again_output.replace("[WARNING]: Platform", "")
