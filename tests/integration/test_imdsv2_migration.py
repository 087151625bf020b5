# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IMDSv2 without outages, end to end: the emulator linked to moto counts IMDSv1 use in moto's CloudWatch as EC2
does, and real ansible-playbook runs tell the story.

1. A legacy caller on the host uses IMDSv1: the audit says uses_imdsv1, the role refuses and names the count.
2. The caller is fixed (it uses a token): once the window holds no IMDSv1 call, the audit says ready, and the role
   switches and verifies. The legacy calls are dated 3 days back (the link's metrics_time_offset) and the window
   is 2 days: that is how a test lets time pass.
3. The inverse: the switch is forced (imdsv1_usage_check: warn) with the legacy caller still running; verify
   reports the refused calls, and the audit says enforced_with_rejections.

And the migration playbook of docs/docsite/rst/migrate_to_imdsv2.rst, run as written over two hosts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from imds_emulator import ImdsEmulator
from moto_link import link_emulator
from services import launch_instance

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import REPO_ROOT, run_playbook

DAY = 86400
DOCS_PAGE = REPO_ROOT / "docs" / "docsite" / "rst" / "migrate_to_imdsv2.rst"

# The audit, then the role (enforce + verify); what happened goes to a JSON file for the test to check.
STORY_SWITCH = """
- name: Audit, then require IMDSv2 with the role
  hosts: localhost
  gather_facts: false
  module_defaults:
    ec2meta.imds.metadata_options_info:
      region: eu-west-1
      endpoint_url: "{{ moto_endpoint }}"
  tasks:
    - name: Audit the instance
      ec2meta.imds.metadata_options_info:
        instance_ids: ["{{ instance_id }}"]
        imdsv1_usage_window: "{{ window }}"
      register: audit

    - name: The audit's verdict
      ansible.builtin.debug:
        msg: "{{ audit.instances[0].verdict }}: {{ audit.instances[0].verdict_reason }}"

    - name: Require IMDSv2
      block:
        - name: Enforce and verify
          ansible.builtin.include_role:
            name: ec2meta.imds.instance_metadata
        - name: Switched and verified
          ansible.builtin.set_fact:
            outcome: {"result": "switched", "usage": "{{ instance_metadata_options_result.imdsv1_usage }}"}
      rescue:
        - name: Refused
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.reason }}: {{ ansible_failed_result.msg }}"
        - name: Remember why
          ansible.builtin.set_fact:
            outcome: {"result": "{{ ansible_failed_result.reason }}", "msg": "{{ ansible_failed_result.msg }}"}

    - name: Write down what happened
      ansible.builtin.copy:
        content: "{{ {'audit': audit.instances[0], 'summary': audit.summary, 'role': outcome} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
  vars:
    instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
    instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
    instance_metadata_http_tokens: required
    instance_metadata_imdsv1_usage_window: "{{ window }}"
    instance_metadata_expected_role: web-server-role
"""

# Forced switch with the legacy caller still running: enforce (warn), the caller gets 401, verify, audit.
STORY_FORCED = """
- name: Force IMDSv2 while a legacy caller still uses IMDSv1
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Enforce, switching despite the IMDSv1 use
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
        tasks_from: enforce
      vars:
        instance_metadata_imdsv1_usage_check: warn

    - name: The legacy caller keeps calling without a token, and is refused
      ansible.builtin.uri:
        url: "{{ imds_endpoint }}/latest/meta-data/instance-id"
        status_code: 401
      loop: [1, 2]

    - name: Verify
      block:
        - name: Verify from the host
          ansible.builtin.include_role:
            name: ec2meta.imds.instance_metadata
            tasks_from: verify
        - name: Verified
          ansible.builtin.set_fact:
            verify_outcome: "passed"
      rescue:
        - name: Verify failed
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.msg }}"
        - name: Remember why
          ansible.builtin.set_fact:
            verify_outcome: "{{ ansible_failed_result.msg }}"

    - name: Audit the instance
      ec2meta.imds.metadata_options_info:
        instance_ids: ["{{ instance_id }}"]
        region: eu-west-1
        endpoint_url: "{{ moto_endpoint }}"
      register: audit

    - name: The audit's verdict
      ansible.builtin.debug:
        msg: "{{ audit.instances[0].verdict }}: {{ audit.instances[0].verdict_reason }}"

    - name: Write down what happened
      ansible.builtin.copy:
        content: >-
          {{ {'enforce': instance_metadata_options_result, 'verify': verify_outcome,
              'audit': audit.instances[0]} | to_json }}
        dest: "{{ results_file }}"
        mode: "0600"
  vars:
    instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
    instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
    instance_metadata_http_tokens: required
    instance_metadata_expected_role: web-server-role
"""


def legacy_calls(emulator_url: str, count: int) -> None:
    for _call in range(count):
        assert requests.get(f"{emulator_url}/latest/meta-data/instance-id", timeout=2).status_code == 200


def token_call(emulator_url: str) -> None:
    token = requests.put(
        f"{emulator_url}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout=2
    ).text
    answer = requests.get(
        f"{emulator_url}/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}, timeout=2
    )
    assert answer.status_code == 200


def http_tokens(moto_endpoint: str, instance_id: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"][
        "HttpTokens"
    ]


def play(tmp_path: Path, name: str, text: str, extra_vars: dict) -> dict:
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(text, encoding="utf-8")
    results = tmp_path / f"{name}.json"
    completed = run_playbook(playbook, {**extra_vars, "results_file": str(results)}, verbosity="")
    output = completed.stdout + completed.stderr
    print(f"\n$ ansible-playbook {playbook.name}\n" + "\n".join(re.findall(r'"msg": ".*"', output)))
    assert completed.returncode == 0, output[-10000:]
    return json.loads(results.read_text())


@pytest.fixture
def host(moto_endpoint):
    """An emulated instance linked to a fresh moto instance (with the web-server-profile role)."""
    with ImdsEmulator() as emulator:
        instance = launch_instance({"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True)
        yield emulator, instance["instance_id"]


def test_story_1_and_2_refused_while_used_then_switched_once_fixed(tmp_path, moto_endpoint, host):
    emulator, instance_id = host
    extra = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, "instance_id": instance_id}

    # 1. The legacy caller ran 3 days ago, 5 times without a token.
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0, metrics_time_offset=-3 * DAY)
    legacy_calls(emulator.url, 5)
    first = play(tmp_path, "story1", STORY_SWITCH, {**extra, "window": 14})
    assert first["audit"]["verdict"] == "uses_imdsv1"
    assert first["audit"]["imdsv1_usage"]["calls"] == 5
    assert first["summary"]["uses_imdsv1"] == 1
    assert first["role"]["result"] == "imdsv1_in_use"
    assert "counted 5 IMDSv1 call(s)" in first["role"]["msg"]
    assert http_tokens(moto_endpoint, instance_id) == "optional"

    # 2. Fixed since: it uses a token now. The last 2 days hold token calls only (zeros), no IMDSv1 call.
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    token_call(emulator.url)
    second = play(tmp_path, "story2", STORY_SWITCH, {**extra, "window": 2})
    assert second["audit"]["verdict"] == "ready", second["audit"]
    assert second["role"]["result"] == "switched", second["role"]
    assert second["role"]["usage"]["calls"] == 0
    assert http_tokens(moto_endpoint, instance_id) == "required"
    assert requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=2).status_code == 401


def test_story_3_forced_switch_is_caught_by_verify_and_the_audit(tmp_path, moto_endpoint, host):
    emulator, instance_id = host
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    legacy_calls(emulator.url, 4)
    extra = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, "instance_id": instance_id}
    result = play(tmp_path, "story3", STORY_FORCED, extra)
    assert result["enforce"]["changed"] is True
    assert result["enforce"]["imdsv1_usage"]["calls"] == 4
    assert "Required IMDSv2 (http_tokens=required)" in json.dumps(result["enforce"]["warnings"])
    assert result["verify"].startswith(f"IMDS refused 2 IMDSv1 call(s) on {instance_id} since")
    assert result["audit"]["verdict"] == "enforced_with_rejections"
    assert result["audit"]["imdsv1_usage"]["rejected"] == 2


def docs_playbook() -> str:
    """The migration playbook of the docs page: its one ``yaml`` code block that names the role."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: yaml\n\n((?:    .*\n|\n)+)", text)
    playbooks = [block for block in blocks if "ec2meta.imds.instance_metadata" in block]
    assert len(playbooks) == 1, "the docs page has one migration playbook"
    return "\n".join(line[4:] for line in playbooks[0].splitlines()) + "\n"


def test_the_docs_migration_playbook_runs_as_written(tmp_path, moto_endpoint):
    wave = f"wave-{tmp_path.name[-12:]}"
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    with ImdsEmulator() as first, ImdsEmulator() as second:
        hosts = {}
        for name, emulator in (("web1", first), ("web2", second)):
            instance_id = launch_instance(
                {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True
            )["instance_id"]
            ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "imdsv2-migration", "Value": wave}])
            token_call(emulator.url)  # callers that use tokens: data in CloudWatch, no IMDSv1
            hosts[name] = {"instance_id": instance_id, "emulator": emulator}
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(
            json.dumps(
                {
                    "all": {
                        "hosts": {"localhost": {"ansible_connection": "local"}},
                        "children": {
                            "imdsv2_wave": {
                                "hosts": {
                                    name: {
                                        "ansible_connection": "local",
                                        "instance_metadata_imds_endpoint": h["emulator"].url,
                                        # As amazon.aws.aws_ec2 sets it: proves the id the host claims.
                                        "instance_id": h["instance_id"],
                                    }
                                    for name, h in hosts.items()
                                }
                            }
                        },
                    }
                }
            ),
            encoding="utf-8",
        )
        playbook = tmp_path / "migrate.yml"
        playbook.write_text(docs_playbook(), encoding="utf-8")
        completed = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(inventory),
                "-e",
                json.dumps({"ansible_python_interpreter": sys.executable, "migration_wave": wave}),
                str(playbook),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={
                **os.environ,
                "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0",
                # No endpoint_url in the playbook: boto3 takes moto's from the environment, as a user's would
                # take a VPC endpoint's.
                "AWS_ENDPOINT_URL": moto_endpoint,
                "AWS_REGION": "eu-west-1",
            },
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, output[-10000:]
        for name, h in hosts.items():
            assert http_tokens(moto_endpoint, h["instance_id"]) == "required", name
        assert "ready" in output
