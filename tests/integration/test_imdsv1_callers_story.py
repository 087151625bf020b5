# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Jenkins story of docs/docsite/rst/guide_imdsv1_callers.rst, end to end, with real ansible-playbook runs
against the emulator linked to moto, and the IMDS packet analyzer's log and a Jenkins home as fixtures.

1. A Jenkins job's report step reads its role credentials without a token (an old AWS SDK for Java in a Jenkins
   plugin): 5 calls, counted in CloudWatch. Someone requires tokens: the next run gets 401.
2. probe says what the 401 means; tokens go back to optional so the job runs again.
3. The audit and the role's guard show the CloudWatch count, and refuse.
4. imdsv1_callers (through the role's find_imdsv1_callers) names the job's process chain and the old SDK.
5. The fix: the plugin is updated, the job uses a token; imdsv1_callers finds nothing since the fix.
6. The switch goes through, and verify passes.

With EC2META_STORY_OUT=<file>, the outputs shown in the docs are written there (paths under the test's temporary
root shortened to /), which is how the page's outputs were made; the test checks the page still shows them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import requests
from analyzer_log import jenkins_calls, line, write_log
from imds_emulator import ImdsEmulator
from moto_link import link_emulator
from services import launch_instance

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import REPO_ROOT, run_playbook

DAY = 86400
DOCS_PAGE = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_imdsv1_callers.rst"
OLD_JAR = "plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.11.500.jar"
NEW_JAR = "plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.12.780.jar"
USER_AGENT = "aws-sdk-java/1.11.500 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/11.0.25+9 java/11.0.25"

PROBE = """
- name: What does the 401 mean?
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Probe IMDS from the Jenkins host
      ec2meta.imds.probe:
        endpoint: "{{ imds_endpoint }}"
        check_ipv6: false
      register: probe

    - name: The findings about tokens
      ansible.builtin.debug:
        msg: "{{ item.name }}: {{ item.message }}"
      loop: "{{ probe.findings | selectattr('name', 'in', ['tokens_work', 'v1_disabled']) }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Tokens optional again, so that the job runs while its caller is found
      ec2meta.imds.metadata_options:
        instance_id: "{{ instance_id }}"
        region: eu-west-1
        endpoint_url: "{{ moto_endpoint }}"
        http_tokens: optional

    - name: Write down what happened
      ansible.builtin.copy:
        content: "{{ probe | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""

AUDIT_AND_GUARD = """
- name: The audit, and the role's guard
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Audit the Jenkins host
      ec2meta.imds.metadata_options_info:
        instance_ids: ["{{ instance_id }}"]
        region: eu-west-1
        endpoint_url: "{{ moto_endpoint }}"
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
        content: "{{ {'audit': audit.instances[0], 'role': outcome} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
  vars:
    instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
    instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
    instance_metadata_http_tokens: required
    instance_metadata_imdsv1_usage_window: "{{ window }}"
    instance_metadata_expected_role: web-server-role
"""

FIND_CALLERS = """
- name: Which program on the Jenkins host calls IMDSv1?
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Name the callers and the outdated SDKs
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
        tasks_from: find_imdsv1_callers
      vars:
        instance_metadata_callers_read_log: always
        instance_metadata_callers_log_path: "{{ log_path }}"
        instance_metadata_callers_scan_paths: ["{{ jenkins_home }}"]
        instance_metadata_callers_scan_system_paths: false
        instance_metadata_callers_only_v1: true
        instance_metadata_callers_since: "{{ since | default(omit) }}"
        instance_metadata_callers_become: false

    - name: Write down what happened
      ansible.builtin.copy:
        content: "{{ instance_metadata_callers_result | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""


def play(tmp_path: Path, name: str, text: str, extra_vars: dict, outputs: dict) -> dict:
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(text, encoding="utf-8")
    results = tmp_path / f"{name}.json"
    completed = run_playbook(playbook, {**extra_vars, "results_file": str(results)}, verbosity="")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-10000:]
    outputs[name] = re.findall(r'"msg": "(.*)"', output)
    return json.loads(results.read_text())


def job_run(emulator_url: str, with_token: bool = False) -> int:
    """One run of the report step: the role credentials' listing, as the old SDK asks for it (or with a token)."""
    headers = {"User-Agent": USER_AGENT}
    if with_token:
        token = requests.put(
            f"{emulator_url}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"}, timeout=2
        ).text
        headers["X-aws-ec2-metadata-token"] = token
    return requests.get(
        f"{emulator_url}/latest/meta-data/iam/security-credentials/", headers=headers, timeout=2
    ).status_code


def http_tokens(moto_endpoint: str, instance_id: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"][
        "HttpTokens"
    ]


def shorten(value, root: str):
    """The outputs as the docs show them: the temporary root is the host's /."""
    return json.loads(json.dumps(value).replace(root, ""))


def test_the_jenkins_story(tmp_path, moto_endpoint):
    outputs: dict = {}
    root = tmp_path / "host"
    jenkins_home = root / "var" / "lib" / "jenkins"
    (jenkins_home / OLD_JAR).parent.mkdir(parents=True)
    (jenkins_home / OLD_JAR).write_bytes(b"PK")
    log_dir = root / "var" / "log" / "imds"
    log_path = log_dir / "imds-trace.log"
    # The emulator dates its CloudWatch counts 3 days back; the analyzer's log says the same times.
    three_days_ago = (datetime.now() - timedelta(days=3)).replace(microsecond=0)

    with ImdsEmulator() as emulator:
        instance_id = launch_instance({"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True)[
            "instance_id"
        ]
        extra = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, "instance_id": instance_id}

        # 1. The nightly job, three nights ago: five IMDSv1 calls, counted in CloudWatch and logged by the analyzer.
        link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0, metrics_time_offset=-3 * DAY)
        assert [job_run(emulator.url) for _run in range(5)] == [200] * 5
        calls = jenkins_calls(three_days_ago, 5)
        # Someone requires tokens; the job's next run is refused.
        boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1").modify_instance_metadata_options(
            InstanceId=instance_id, HttpTokens="required"
        )
        refused = job_run(emulator.url)
        outputs["job"] = refused
        assert refused == 401
        refused_call = jenkins_calls(three_days_ago + timedelta(seconds=30), 1, first_pid=21422)[0]
        calls.append(refused_call)
        write_log(log_dir, [line(call, "1.4") for call in calls])

        # 2. probe: tokens work, IMDSv1 is refused; tokens optional again.
        probe = play(tmp_path, "probe", PROBE, extra, outputs)
        assert probe["tokens_work"] is True
        assert probe["v1_allowed"] is False
        assert http_tokens(moto_endpoint, instance_id) == "optional"

        # 3. The audit counts the calls; the guard refuses.
        guarded = play(tmp_path, "guard", AUDIT_AND_GUARD, {**extra, "window": 14}, outputs)
        assert guarded["audit"]["verdict"] == "uses_imdsv1"
        assert guarded["audit"]["imdsv1_usage"]["calls"] == 5
        assert guarded["role"]["result"] == "imdsv1_in_use"
        assert "counted 5 IMDSv1 call(s)" in guarded["role"]["msg"]

        # 4. Who: the job's java process under Jenkins, and the plugin's old SDK.
        found = play(
            tmp_path,
            "callers",
            FIND_CALLERS,
            {**extra, "log_path": str(log_path), "jenkins_home": str(jenkins_home)},
            outputs,
        )
        caller = found["callers"][0]
        assert (caller["imds_version"], caller["name"], caller["count"], caller["pid"]) == ("v1", "java", 6, 21422)
        assert [parent["name"] for parent in caller["parents"]] == ["sh", "java"]
        assert "jenkins.war" in caller["parents"][1]["argv"]
        assert caller["user_agents"] == [USER_AGENT.lower()]
        sdk = found["outdated_sdks"][0]
        assert (sdk["version"], sdk["minimum"]) == ("1.11.500", "1.11.678")
        assert sdk["fix"].startswith("update the Jenkins plugin aws-java-sdk")
        outputs["callers_result"] = shorten(found, str(root))

        # 5. The fix: the plugin is updated (its new SDK uses tokens). The job runs with a token, now.
        (jenkins_home / OLD_JAR).rename(jenkins_home / NEW_JAR)
        link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
        fixed_at = datetime.now().replace(microsecond=0)
        assert job_run(emulator.url, with_token=True) == 200
        token_run = jenkins_calls(fixed_at + timedelta(seconds=1), 1, first_pid=30117)[0]
        token_run.version, token_run.token = "v2", "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="
        token_run.user_agent = USER_AGENT.replace("1.11.500", "1.12.780")
        calls.append(token_run)
        write_log(log_dir, [line(call, "1.4") for call in calls])
        after = play(
            tmp_path,
            "after_fix",
            FIND_CALLERS,
            {
                **extra,
                "log_path": str(log_path),
                "jenkins_home": str(jenkins_home),
                "since": fixed_at.isoformat(),
            },
            outputs,
        )
        assert after["callers"] == []
        assert after["outdated_sdks"] == []
        assert after["log"]["lines_before_since"] == 6
        assert after["log"]["lines_v2_skipped"] == 1

        # 6. Two days without an IMDSv1 call: the switch goes through, verify passes.
        switched = play(tmp_path, "switch", AUDIT_AND_GUARD, {**extra, "window": 2}, outputs)
        assert switched["audit"]["verdict"] == "ready", switched["audit"]
        assert switched["role"]["result"] == "switched", switched["role"]
        assert http_tokens(moto_endpoint, instance_id) == "required"

    if os.environ.get("EC2META_STORY_OUT"):
        Path(os.environ["EC2META_STORY_OUT"]).write_text(
            json.dumps(shorten(outputs, str(root)), indent=2), encoding="utf-8"
        )
    page = DOCS_PAGE.read_text(encoding="utf-8")
    for shown in (
        outputs["callers_result"]["summary"].split(". ")[0],
        "IMDSv1 is refused (401 without a token).",
        "update the Jenkins plugin aws-java-sdk (Manage Jenkins > Plugins)",
        "No IMDSv1 call in the analyzer's log since",
        "No SDK older than AWS's IMDSv2 minimums found.",
    ):
        assert shown in page, f"the docs page no longer shows: {shown}"
