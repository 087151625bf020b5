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
from moto.autoscaling.responses import AutoScalingResponse
from moto.ec2.responses import EC2Response

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

from ansible_collections.ec2meta.imds.plugins.plugin_utils._campaign_report import md_escape

REGIONS = ["ap-southeast-1", "ca-central-1"]


@pytest.fixture(scope="module")
def fleet(moto_endpoint):
    moto_ec2_gaps.reset_defaults()
    return {region: story(moto_endpoint, region) for region in REGIONS}


def campaign(tmp_path, moto_endpoint, phase, regions=None, check=False, **extra):
    regions = REGIONS if regions is None else regions
    playbook = tmp_path / "campaign.yml"
    playbook.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
    run = run_playbook(
        playbook,
        {
            "campaign_phase": phase,
            "campaign_regions": regions,
            "campaign_endpoint_url": moto_endpoint,
            "campaign_report_dir": str(tmp_path / "report"),
            **extra,
        },
        verbosity="--check" if check else "",
    )
    report = tmp_path / "report" / f"imdsv2-campaign-{phase}{'-check' if check else ''}.md"
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
    assert "**Ready to enforce: no**" in markdown
    assert f"| {region} | {made['calling'][0]} | reporting | uses\\_imdsv1 | optional | 12 | 0 |" in markdown
    assert "This phase changed nothing." in markdown
    assert "<h2>What blocks enforcement (" in html
    assert html.count("<svg ") == len(REGIONS)
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
    assert run.returncode != 0, run.stdout  # a refused item is a failed step (issue 27, second review, 5)
    assert "Phase launch_paths did not finish" in run.stdout
    assert "**A step failed**: Phase launch\\_paths: " in markdown
    assert "refused or failed \\(unauthorized\\)" in markdown
    assert "ec2:CreateLaunchTemplateVersion" in markdown
    fixed = [default_tokens(moto_endpoint, r, fleet[r]["web"]) for r in REGIONS]
    fixed += [default_tokens(moto_endpoint, r, fleet[r]["legacy"]) for r in REGIONS]
    assert fixed.count("required") == 3  # one was refused
    run, markdown, _html = campaign(tmp_path, moto_endpoint, "launch_paths")  # again: finishes what was left
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("web", "legacy"):
        assert all(default_tokens(moto_endpoint, r, fleet[r][name]) == "required" for r in REGIONS)
    # legacy-asg is pinned to version 1 and old-asg launches from a launch configuration: both still block.
    assert f"| {region} | legacy-asg | legacy-asg | allows\\_imdsv1 |" in markdown
    assert f"| {region} | old-lc | old-lc | allows\\_imdsv1 |" in markdown
    assert "web-asg" not in markdown.split("## What blocks enforcement")[1].split("## Per region")[0]

    run, markdown, _html = campaign(tmp_path, moto_endpoint, "account")
    assert run.returncode != 0  # enforcement refused: the region is not ready
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    level = ec2.get_instance_metadata_defaults()["AccountLevel"]
    assert level["HttpTokens"] == "required"
    assert "HttpTokensEnforced" not in level
    assert "refused or failed \\(enforcement\\_not\\_ready\\)" in markdown
    assert "**The campaign is not complete**" in markdown
    assert "This was the last phase" not in markdown


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
        "campaign_report_dir": str(tmp_path / "report"),
    }
    run = run_playbook(playbook, variables, verbosity="")
    assert run.returncode != 0
    assert "Unknown AWS region 'eu-nowhere-1'" in run.stdout
    # The report is written all the same, and says the region's readiness is unknown.
    markdown = (tmp_path / "report" / "imdsv2-campaign-audit.md").read_text(encoding="utf-8")
    assert "**A step failed**: Check the regions" in markdown
    assert "**eu-nowhere-1**: ready to enforce: unknown — the audit failed \\(invalid\\_option\\)" in markdown


# Every EC2 and Auto Scaling action that changes something starts with one of these verbs.
WRITE_VERBS = ("Modify", "Create", "Delete", "Register", "Deregister", "Put", "Update", "Attach", "Detach", "Run",
               "Terminate", "Stop", "Start", "Reset", "Replace", "Associate", "Disassociate", "Enable", "Disable",
               "Set", "Copy", "Import", "Cancel", "Request", "Reboot", "Suspend", "Resume", "Execute")  # fmt: skip


@pytest.fixture
def actions_seen(monkeypatch):
    """The EC2 and Auto Scaling actions the moto server answers (it runs in this process, in threads)."""
    seen: list = []
    for response_class in (EC2Response, AutoScalingResponse):
        original = response_class.call_action

        def recording(self, original=original):
            seen.append(self._get_action())
            return original(self)

        monkeypatch.setattr(response_class, "call_action", recording)
    return seen


def test_check_mode_sends_no_change_in_any_phase_and_writes_a_dry_run_report(tmp_path, moto_endpoint, actions_seen):
    regions = ["eu-west-3"]
    made = story(moto_endpoint, regions[0])
    actions_seen.clear()
    # Every opt-in of the launch_paths phase on (issue 30): the moves send no write under --check either.
    opt_ins = dict.fromkeys(
        ("campaign_move_pinned_groups", "campaign_move_pinned_fleets", "campaign_move_launch_configurations"), True
    )
    for phase in ("audit", "instances", "launch_paths", "account"):
        run, markdown, html = campaign(tmp_path, moto_endpoint, phase, regions, check=True, **opt_ins)
        assert "**DRY RUN \\(check mode\\)**" in markdown, run.stdout + run.stderr
        assert '<p class="dry">' in html
        assert f"imdsv2-campaign-{phase}-check.md (and .html)" in run.stdout
        assert not (tmp_path / "report" / f"imdsv2-campaign-{phase}.md").exists()
        if phase == "launch_paths":  # the opt-ins ran and said what they would do
            assert md_escape("would move launch configuration old-lc -> launch template old-lc-imdsv2") in markdown
            assert md_escape("left: launch_template:") in markdown  # legacy-asg: no successor under --check
    assert "**Dry run**: nothing was changed" in markdown
    writes = sorted({action for action in actions_seen if action.startswith(WRITE_VERBS)})
    assert writes == []
    assert "DescribeInstances" in actions_seen  # the recorder saw the phases' calls
    assert "DescribeLaunchTemplateVersions" in actions_seen
    assert set(tokens(moto_endpoint, regions[0], made["ready"]).values()) == {"optional"}


def test_a_failed_step_still_writes_the_report_naming_it(tmp_path, moto_endpoint):
    regions = ["eu-west-3"]
    moto_ec2_gaps.inject_fault("GetInstanceMetadataDefaults", "UnauthorizedOperation", times=1)
    try:
        run, markdown, html = campaign(tmp_path, moto_endpoint, "instances", regions)
    finally:
        moto_ec2_gaps.clear_faults()
    assert run.returncode != 0
    assert "**A step failed**: Check the regions" in markdown, run.stdout + run.stderr
    assert "ec2:GetInstanceMetadataDefaults" in markdown
    assert "did not finish: **run it again** once the failures above are fixed" in markdown
    assert "<strong>A step failed</strong>" in html
    assert "imdsv2-campaign-instances.md (and .html)" in run.stdout


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
    for line in (
        "version 1 -> 3 (create), used by alias $Default",
        "version 2 -> 4 (copy), used by alias $Latest, auto_scaling_group latest-asg ($Latest)",
        "$Latest now version 4 (was 2)",
    ):
        assert md_escape(line) in markdown, markdown

    run = run_playbook(playbook, variables, verbosity="")  # again: nothing left to do
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        ec2.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"][0]["LatestVersionNumber"] == 4
    )


def test_a_launch_paths_step_that_fails_midway_fails_the_play_and_the_rerun_restores_latest(tmp_path, moto_endpoint):
    """Issue 27 (second review, 5): the second CreateLaunchTemplateVersion of a template fails (and so does the
    attempt to restore $Latest). The loop goes on past it, but the play must fail, the report must name the step and
    its alias rows must be true ($Default was not moved); running the phase again puts $Latest back."""
    region = "ap-northeast-3"
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
        "MetadataOptions": {"HttpTokens": "optional"},
    }
    template_id = ec2.create_launch_template(LaunchTemplateName="midway", LaunchTemplateData=old)["LaunchTemplate"][
        "LaunchTemplateId"
    ]
    ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=new)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="midway-asg",
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
        AvailabilityZones=[f"{region}a"],
        MinSize=0,
        MaxSize=1,
    )
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "InternalError", times=2, after=1)
    try:
        run, markdown, _html = campaign(tmp_path, moto_endpoint, "launch_paths", [region])
    finally:
        moto_ec2_gaps.clear_faults()
    assert run.returncode != 0, run.stdout
    assert f"Phase launch_paths did not finish (Phase launch_paths: {region} {template_id})" in run.stdout
    assert f"**A step failed**: {md_escape(f'Phase launch_paths: {region} {template_id}')}" in markdown
    assert md_escape("until this task is run again") in markdown
    assert md_escape("done before it: $Default stays version 1") in markdown
    assert md_escape("done before it: $Latest now version 3 (was 2)") in markdown
    assert "now version -" not in markdown
    assert md_escape("$Default now version") not in markdown

    run, markdown, _html = campaign(tmp_path, moto_endpoint, "launch_paths", [region])
    assert run.returncode == 0, run.stdout + run.stderr
    latest = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Latest"])
    data = latest["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert (data["ImageId"], data["InstanceType"], data["MetadataOptions"]["HttpTokens"]) == (
        new["ImageId"],
        "m7i.large",
        "required",
    )


def test_the_launch_paths_phase_moves_every_launch_path_then_enforcement_is_accepted(tmp_path, moto_endpoint):
    """Issue 30: a mixed region - a template on $Default, a group pinned to a version and one whose mixed-instances
    override is pinned, a group on a launch configuration, a configuration no group uses, a maintain EC2 Fleet
    pinned to a version and a request fleet. With every opt-in, one launch_paths run leaves no launch path allowing
    IMDSv1, and the account phase's enforcement is accepted."""
    region = "ap-south-1"
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=region)
    image = ec2.register_image(Name="mixed-fixture")["ImageId"]
    data = {"ImageId": image, "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
    web = ec2.create_launch_template(LaunchTemplateName="mixed-web", LaunchTemplateData=data)["LaunchTemplate"]
    batch = ec2.create_launch_template(LaunchTemplateName="mixed-batch", LaunchTemplateData=data)["LaunchTemplate"]
    zones = {"AvailabilityZones": [f"{region}a"], "MinSize": 0, "MaxSize": 1}
    pinned = {"LaunchTemplateId": web["LaunchTemplateId"], "Version": "1"}
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="pinned-asg", LaunchTemplate=pinned, **zones)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="mixed-asg",
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": web["LaunchTemplateId"], "Version": "$Default"},
                "Overrides": [
                    {"InstanceType": "t3.small",
                     "LaunchTemplateSpecification": {"LaunchTemplateId": batch["LaunchTemplateId"], "Version": "1"}}
                ],
            }
        },
        **zones,
    )  # fmt: skip
    for name in ("lc-used", "lc-orphan"):
        autoscaling.create_launch_configuration(
            LaunchConfigurationName=name, ImageId=image, InstanceType="t3.micro", AssociatePublicIpAddress=False
        )
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="lc-asg", LaunchConfigurationName="lc-used", **zones)
    capacity = {"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"}
    for fleet_type in ("maintain", "request"):
        ec2.create_fleet(
            Type=fleet_type,
            TargetCapacitySpecification=capacity,
            LaunchTemplateConfigs=[
                {"LaunchTemplateSpecification": pinned, "Overrides": [{"InstanceType": "t3.small"}]}
            ],
        )
    playbook = tmp_path / "campaign.yml"
    playbook.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
    variables = {
        "campaign_phase": "launch_paths",
        "campaign_regions": [region],
        "campaign_endpoint_url": moto_endpoint,
        "campaign_report_dir": str(tmp_path / "report"),
        "campaign_move_pinned_groups": True,
        "campaign_move_pinned_fleets": True,
        "campaign_move_launch_configurations": True,
        "campaign_hop_limit_policy": {"max": 1},
    }
    run = run_playbook(playbook, variables, verbosity="")
    assert run.returncode == 0, run.stdout + run.stderr
    markdown = (tmp_path / "report" / "imdsv2-campaign-launch_paths.md").read_text(encoding="utf-8")
    for line in (
        f"moved launch_template: {web['LaunchTemplateId']} version 1 -> 2",
        f"moved mixed_instances_override[0]: {batch['LaunchTemplateId']} version 1 -> 2",
        "moved launch configuration lc-used -> launch template lc-used-imdsv2",
        "moved launch_template_configs[0]:",
        "Hop limit per verdict (policy: max 1)",
    ):
        assert md_escape(line) in markdown, markdown
    assert "Ready to enforce: yes" in markdown, markdown
    groups = {
        group["AutoScalingGroupName"]: group
        for group in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["pinned-asg", "lc-asg"])[
            "AutoScalingGroups"
        ]
    }
    assert groups["pinned-asg"]["LaunchTemplate"]["Version"] == "2"
    assert groups["lc-asg"]["LaunchTemplate"]["LaunchTemplateName"] == "lc-used-imdsv2"

    run = run_playbook(playbook, {**variables, "campaign_phase": "account"}, verbosity="")
    assert run.returncode == 0, run.stdout + run.stderr
    assert ec2.get_instance_metadata_defaults()["AccountLevel"].get("HttpTokensEnforced") == "enabled"
