# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: the real ansible-rulebook (.build/eda-venv from requirements-eda.txt, scripts/eda_venv.sh) runs
extensions/eda/rulebooks/imds_events.yml against the IMDS emulator; Auto Scaling moves the instance to Terminated;
the drain playbook deregisters it from its target group and completes the lifecycle action, both in moto.

Its own step in scripts/test.sh (it needs Java 17 and the EDA venv): pytest -p no:xdist tests/eda.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
EDA_VENV = REPO_ROOT / ".build" / "eda-venv"
# The checkout's link and, beside it, amazon.aws and community.aws for the drain playbook (scripts/bootstrap.sh).
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
GROUP, HOOK = "web", "drain-before-terminate"
RUN_SECONDS = 120


@pytest.fixture(scope="module")
def eda_venv() -> Path:
    # Built before the tests by scripts/test.sh (its EDA step): installing from the package index is set-up, and a
    # test runs with the network guard, which refuses any address but loopback (pip's included).
    if not (EDA_VENV / "bin" / "ansible-rulebook").exists():
        pytest.fail(f"{EDA_VENV} has no ansible-rulebook: run scripts/eda_venv.sh first (scripts/test.sh does)")
    return EDA_VENV


@pytest.fixture
def aws(moto_endpoint, ec2):
    import boto3
    import moto_autoscaling_gaps

    moto_autoscaling_gaps.install()
    moto_autoscaling_gaps.COMPLETED.clear()
    elbv2 = boto3.client("elbv2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name="eu-west-1")
    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro")[
        "Instances"
    ][0]["InstanceId"]
    group_arn = elbv2.create_target_group(Name=f"web-{instance_id[-6:]}", Protocol="HTTP", Port=80, VpcId=vpc_id)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": instance_id}])
    ec2.create_launch_template(LaunchTemplateName=f"web-{instance_id}", LaunchTemplateData={"ImageId": "ami-12c6146b"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP,
        LaunchTemplate={"LaunchTemplateName": f"web-{instance_id}"},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["eu-west-1a"],
    )
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=GROUP, LifecycleHookName=HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING"
    )
    yield {"instance_id": instance_id, "group_arn": group_arn, "elbv2": elbv2, "completed": moto_autoscaling_gaps}
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName=GROUP, ForceDelete=True)


def test_spot_notice_drains_and_terminated_completes_the_lifecycle_action(
    eda_venv, emulator, aws, moto_endpoint, tmp_path
):
    emulator.clear_announcements()
    emulator.set_options(http_tokens="required")
    emulator.update_identity_document(instanceId=aws["instance_id"], region="eu-west-1")
    drain_vars = {
        "drain_target_group_arns": [aws["group_arn"]],
        "drain_asg_name": GROUP,
        "drain_lifecycle_hook_name": HOOK,
        "drain_aws_endpoint_url": moto_endpoint,
    }
    (tmp_path / "drain.yml").write_text(yaml.safe_dump(drain_vars))
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    environment = {
        **os.environ,
        "PATH": f"{eda_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT),
        "ANSIBLE_PYTHON_INTERPRETER": str(eda_venv / "bin" / "python"),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": emulator.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HOME": str(tmp_path),
    }
    # A Spot notice first (drain: deregister), then Auto Scaling's Terminated (drain again, complete the action).
    emulator.schedule_spot_notice(3)
    emulator.schedule_lifecycle_state(9, "Terminated")
    log = tmp_path / "rulebook.log"
    with open(log, "w", encoding="utf-8") as output:
        rulebook = subprocess.Popen(
            [
                str(eda_venv / "bin" / "ansible-rulebook"),
                "--rulebook",
                "ec2meta.imds.imds_events",
                "--inventory",
                str(tmp_path / "inventory.yml"),
                "--vars",
                str(tmp_path / "drain.yml"),
                "--print-events",
            ],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            ends = time.monotonic() + RUN_SECONDS
            while time.monotonic() < ends and not aws["completed"].COMPLETED and rulebook.poll() is None:
                time.sleep(0.5)
        finally:
            rulebook.terminate()
            try:
                rulebook.wait(20)
            except subprocess.TimeoutExpired:
                rulebook.kill()
                rulebook.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert [
        {
            "AutoScalingGroupName": GROUP,
            "LifecycleHookName": HOOK,
            "LifecycleActionResult": "CONTINUE",
            "InstanceId": aws["instance_id"],
            "LifecycleActionToken": None,
        }
    ] == aws["completed"].COMPLETED, text[-4000:]
    health = aws["elbv2"].describe_target_health(TargetGroupArn=aws["group_arn"])["TargetHealthDescriptions"]
    assert [target["Target"]["Id"] for target in health] == [], text[-4000:]
    assert "'kind': 'lifecycle_state'" in text
    assert "'state': 'Terminated'" in text
    assert f"Draining {aws['instance_id']}: spot_interruption" in text
    assert f"Draining {aws['instance_id']}: lifecycle_state" in text
    assert text.index("spot_interruption") < text.index("'state': 'Terminated'")
