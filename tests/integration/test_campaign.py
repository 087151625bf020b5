# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IMDSv2 campaign playbook, all four phases as real ansible-playbook runs against moto (with the stand-ins of
tests/emulator/MOTO_GAPS.md), over two regions built by fleet_builder.story.

Also what happens when it stops midway: a refused call fails that one change, the others go on, the report
names the failure, and running the phase again finishes it (every change is idempotent).
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import moto_ec2_gaps
import pytest
from fleet_builder import story

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

REGIONS = ["ap-southeast-1", "ca-central-1"]


@pytest.fixture(scope="module")
def fleet(moto_endpoint):
    moto_ec2_gaps.reset_defaults()
    return {region: story(moto_endpoint, region) for region in REGIONS}


def campaign(tmp_path, moto_endpoint, phase):
    playbook = tmp_path / "campaign.yml"
    playbook.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
    run = run_playbook(
        playbook,
        {
            "campaign_phase": phase,
            "campaign_regions": REGIONS,
            "campaign_endpoint_url": moto_endpoint,
            "campaign_report_dir": str(tmp_path / "report"),
        },
        verbosity="",
    )
    report = tmp_path / "report" / f"imdsv2-campaign-{phase}.md"
    markdown = report.read_text(encoding="utf-8") if report.exists() else ""
    html = report.with_suffix(".html").read_text(encoding="utf-8") if report.exists() else ""
    return run, markdown, html


def tokens(moto_endpoint, region, instance_ids):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    described = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {i["InstanceId"]: i["MetadataOptions"]["HttpTokens"] for r in described for i in r["Instances"]}


def default_tokens(moto_endpoint, region, template_id):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    version = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Default"])
    return version["LaunchTemplateVersions"][0]["LaunchTemplateData"].get("MetadataOptions", {}).get("HttpTokens")


def test_the_campaign_walks_the_phases_and_stops_where_the_fleet_is_not_ready(tmp_path, moto_endpoint, fleet):
    region = REGIONS[0]
    made = fleet[region]

    run, markdown, html = campaign(tmp_path, moto_endpoint, "audit")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Phase run: **audit**" in markdown
    assert "### Instances still calling IMDSv1 (2)" in markdown
    assert f"| {region} | {made['calling'][0]} | reporting | uses_imdsv1 | 12 | 0 |" in markdown
    assert "This phase changed nothing." in markdown
    assert "<h3>Instances still calling IMDSv1 (2)</h3>" in html
    assert set(tokens(moto_endpoint, region, made["ready"]).values()) == {"optional"}  # the audit changes nothing

    run, markdown, _html = campaign(tmp_path, moto_endpoint, "instances")
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(tokens(moto_endpoint, region, made["ready"]).values()) == {"required"}
    assert tokens(moto_endpoint, region, made["calling"]) == {made["calling"][0]: "optional"}  # left alone
    assert markdown.count("| instance |") == 6  # three ready instances in each region

    # Stop midway: the first template version the phase creates is refused; the rest go on.
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "UnauthorizedOperation", times=1)
    run, markdown, _html = campaign(tmp_path, moto_endpoint, "launch_paths")
    moto_ec2_gaps.clear_faults()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "refused or failed (unauthorized)" in markdown
    assert "ec2:CreateLaunchTemplateVersion" in markdown
    fixed = [default_tokens(moto_endpoint, r, fleet[r]["web"]) for r in REGIONS]
    fixed += [default_tokens(moto_endpoint, r, fleet[r]["legacy"]) for r in REGIONS]
    assert fixed.count("required") == 3  # one was refused
    run, markdown, _html = campaign(tmp_path, moto_endpoint, "launch_paths")  # again: finishes what was left
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("web", "legacy"):
        assert all(default_tokens(moto_endpoint, r, fleet[r][name]) == "required" for r in REGIONS)
    # legacy-asg is pinned to version 1 and old-asg launches from a launch configuration: both still block.
    assert "| auto_scaling_groups | legacy-asg | allows_imdsv1 |" in markdown
    assert "| launch_configurations | old-lc | allows_imdsv1 |" in markdown
    assert "web-asg" not in markdown.split("## What blocks the next phase")[1]

    run, markdown, _html = campaign(tmp_path, moto_endpoint, "account")
    assert run.returncode != 0  # enforcement refused: the region is not ready
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    level = ec2.get_instance_metadata_defaults()["AccountLevel"]
    assert level["HttpTokens"] == "required"
    assert "HttpTokensEnforced" not in level
    assert "refused or failed (enforcement_not_ready)" in markdown
    assert "This was the last phase." in markdown


def test_bad_campaign_variables_are_refused(tmp_path, moto_endpoint):
    playbook = tmp_path / "campaign.yml"
    playbook.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
    run = run_playbook(playbook, {"campaign_phase": "everything", "campaign_regions": REGIONS}, verbosity="")
    assert run.returncode != 0
    assert "Set campaign_phase to one of audit, instances, launch_paths, account" in run.stdout
    run = run_playbook(playbook, {"campaign_phase": "audit", "campaign_regions": "eu-west-1"}, verbosity="")
    assert run.returncode != 0
    variables = {
        "campaign_phase": "audit",
        "campaign_regions": ["eu-nowhere-1"],
        "campaign_endpoint_url": moto_endpoint,
    }
    run = run_playbook(playbook, variables, verbosity="")
    assert run.returncode != 0
    assert "Unknown AWS region 'eu-nowhere-1'" in run.stdout


def test_the_launch_paths_phase_keeps_a_group_on_latest_on_its_ami_and_type(tmp_path, moto_endpoint):
    """Issue 27: $Default v1 (old AMI, t3.micro, tokens optional), $Latest v2 (new AMI, m7i.large, required), a
    group on $Latest. The phase used to make v3 = v1 + required the default and, being the newest, the latest."""
    region = "sa-east-1"
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=region)
    old = {
        "ImageId": "ami-0000000000000a001",
        "InstanceType": "t3.micro",
        "MetadataOptions": {"HttpTokens": "optional"},
    }
    new = {
        "ImageId": "ami-0000000000000b002",
        "InstanceType": "m7i.large",
        "MetadataOptions": {"HttpTokens": "required"},
    }
    template = ec2.create_launch_template(LaunchTemplateName="lineage", LaunchTemplateData=old)["LaunchTemplate"]
    template_id = template["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=new)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="latest-asg",
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
        AvailabilityZones=[f"{region}a"],
        MinSize=0,
        MaxSize=2,
    )
    playbook = tmp_path / "campaign.yml"
    playbook.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
    variables = {
        "campaign_phase": "launch_paths",
        "campaign_regions": [region],
        "campaign_endpoint_url": moto_endpoint,
        "campaign_report_dir": str(tmp_path / "report"),
    }
    run = run_playbook(playbook, variables, verbosity="")
    assert run.returncode == 0, run.stdout + run.stderr

    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["latest-asg"])["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["Version"] == "$Latest"
    launched = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Latest"])
    data = launched["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert (data["ImageId"], data["InstanceType"]) == (new["ImageId"], "m7i.large")  # the old phase: a001, t3.micro
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    default = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Default"])
    data = default["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert (data["ImageId"], data["InstanceType"], data["MetadataOptions"]["HttpTokens"]) == (
        old["ImageId"],
        "t3.micro",
        "required",
    )
    markdown = (tmp_path / "report" / "imdsv2-campaign-launch_paths.md").read_text(encoding="utf-8")
    assert "v1 → v3 (create): $Default" in markdown
    assert "v2 → v4 (copy): $Latest, auto_scaling_group latest-asg" in markdown
    assert "$Latest now v4 (was v2)" in markdown

    run = run_playbook(playbook, variables, verbosity="")  # again: nothing left to do
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        ec2.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"][0]["LatestVersionNumber"] == 4
    )
