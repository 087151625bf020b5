# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options_info's include option through main(), against moto (MOTO_GAPS.md stand-ins)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import NOT_AUDITED, PATH_VERDICT_NAMES
from ansible_collections.ec2meta.imds.plugins.modules import metadata_options_info

REGION = "eu-central-2"


def test_include_selects_what_is_audited_each_in_its_key(run_module, moto_endpoint):
    moto_ec2_gaps.reset_defaults()
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    template = ec2.create_launch_template(
        LaunchTemplateName="info-include", LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}}
    )["LaunchTemplate"]["LaunchTemplateId"]
    try:
        args = {"endpoint_url": moto_endpoint, "region": REGION, "include": ["launch_templates", "account_defaults"]}
        result = run_module(metadata_options_info, args, check_mode=True)
        assert "instances" not in result
        assert "summary" not in result
        assert [item["launch_template_id"] for item in result["launch_templates"]] == [template]
        assert result["launch_templates"][0]["verdict"] == "allows_imdsv1"
        assert result["account_defaults"]["verdict"] == "no_preference"
        assert result["launch_path_summary"] == {
            "launch_templates": {**dict.fromkeys(PATH_VERDICT_NAMES, 0), "allows_imdsv1": 1}
        }
        assert result["not_audited"]["launch_paths"] == list(NOT_AUDITED)
        assert result["api_calls"]["ec2:DescribeLaunchTemplates"] == 1
        assert "ec2:DescribeInstances" not in result["api_calls"]

        both = run_module(metadata_options_info, {**args, "include": ["instances", "launch_templates"]})
        assert both["instances"] == []
        assert both["api_calls"]["ec2:DescribeInstances"] == 1
        assert both["launch_templates"][0]["launch_template_id"] == template
    finally:
        ec2.delete_launch_template(LaunchTemplateId=template)


def test_an_unknown_include_is_refused(run_module, moto_endpoint):
    result = run_module(metadata_options_info, {"endpoint_url": moto_endpoint, "region": REGION, "include": ["vpcs"]})
    assert result["failed"] is True
    assert "include" in result["msg"]


JSON_TYPES = (dict, list, str, int, float, bool, type(None))


def not_json(value, where="result"):
    """Every place in ``value`` that holds something other than JSON's types (an internal object)."""
    if isinstance(value, dict):
        return [bad for key, item in value.items() for bad in not_json(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [bad for index, item in enumerate(value) for bad in not_json(item, f"{where}[{index}]")]
    return [] if isinstance(value, JSON_TYPES) else [f"{where}: {type(value).__name__}"]


def test_values_the_audit_does_not_know_make_paths_unknown_and_the_audit_goes_on(
    run_module, monkeypatch, moto_endpoint
):
    """Issue 27 item 4: one unknown value ended the audit with 'Value of unknown type: Unread'. Now the path is
    unknown, the rest is still judged, and nothing but JSON reaches the module's result."""
    from ansible.module_utils import basic

    region = "eu-west-2"
    moto_ec2_gaps.reset_defaults()
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=region)
    strange = {
        "bogus-tokens": {"HttpTokens": "bogus"},
        "hop-minus-seven": {"HttpTokens": "required", "HttpPutResponseHopLimit": -7},
        "capital-endpoint": {"HttpTokens": "required", "HttpEndpoint": "Enabled"},
        "all-three": {"HttpTokens": "bogus", "HttpPutResponseHopLimit": -7, "HttpEndpoint": "Enabled"},
        "fine": {"HttpTokens": "required"},
    }
    made = {
        name: ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"MetadataOptions": block})[
            "LaunchTemplate"
        ]["LaunchTemplateId"]
        for name, block in strange.items()
    }
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-bogus", ImageId="ami-12c6146b", InstanceType="t3.micro",
        MetadataOptions={"HttpTokens": "bogus", "HttpPutResponseHopLimit": 1},
    )  # fmt: skip
    # What main() hands to exit_json, before Ansible serializes it (an internal object failed right there).
    captured: dict = {}
    real_exit = basic.AnsibleModule.exit_json

    def keep(self, **result):
        captured.update(result)
        real_exit(self, **result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", keep)
    try:
        include = ["launch_templates", "launch_configurations", "auto_scaling_groups", "ec2_fleets", "account_defaults"]
        result = run_module(
            metadata_options_info, {"endpoint_url": moto_endpoint, "region": region, "include": include}
        )
        assert "failed" not in result, result
        assert not_json(captured) == []
        templates = {item["launch_template_name"]: item for item in result["launch_templates"]}
        for name in ("bogus-tokens", "capital-endpoint", "all-three"):
            assert templates[name]["verdict"] == "unknown", templates[name]
            assert "not a value the API documents" in templates[name]["verdict_reason"]
        assert templates["bogus-tokens"]["blocks_enforcement"] is True
        # A hop limit it does not know makes the path unknown; the tokens are known (required): it does not block.
        assert templates["hop-minus-seven"]["verdict"] == "unknown"
        assert "HttpPutResponseHopLimit is -7" in templates["hop-minus-seven"]["verdict_reason"]
        assert templates["hop-minus-seven"]["blocks_enforcement"] is False
        hop = templates["hop-minus-seven"]["versions"][0]
        assert hop["sources"]["http_put_response_hop_limit"].startswith("unknown: HttpPutResponseHopLimit")
        assert hop["metadata_options"]["http_put_response_hop_limit"] == -7  # as the version holds it
        assert templates["all-three"]["versions"][0]["metadata_options"]["http_tokens"] == "bogus"
        assert templates["fine"]["verdict"] != "unknown"
        configurations = {item["launch_configuration_name"]: item for item in result["launch_configurations"]}
        # No group uses it, so it launches nothing; launched, it would be unknown.
        assert configurations["lc-bogus"]["verdict"] == "not_launching"
        assert configurations["lc-bogus"]["verdict_if_used"] == "unknown"
        assert result["launch_path_summary"]["launch_templates"]["unknown"] == 4
    finally:
        autoscaling.delete_launch_configuration(LaunchConfigurationName="lc-bogus")
        for template in made.values():
            ec2.delete_launch_template(LaunchTemplateId=template)


def test_under_enforcement_an_optional_template_is_launch_refused(run_module, moto_endpoint):
    """Issue 27 item 5: with http_tokens_enforced on, a template with explicit optional was 'allows IMDSv1: require
    tokens here', while every launch from it already fails."""
    region = "eu-south-2"
    moto_ec2_gaps.reset_defaults()
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    ec2.modify_instance_metadata_defaults(HttpTokensEnforced="enabled")
    template = ec2.create_launch_template(
        LaunchTemplateName="refused-now", LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}}
    )["LaunchTemplate"]["LaunchTemplateId"]
    try:
        result = run_module(
            metadata_options_info,
            {"endpoint_url": moto_endpoint, "region": region, "include": ["launch_templates"]},
            check_mode=True,
        )
        item = result["launch_templates"][0]
        assert (item["verdict"], item["blocks_enforcement"]) == ("launch_refused", True)
        assert "refuses every launch from it now" in item["verdict_reason"]
        assert result["launch_path_summary"]["launch_templates"]["launch_refused"] == 1
        assert result["not_audited"]["coverage"] == "enforcement"
    finally:
        ec2.delete_launch_template(LaunchTemplateId=template)
        moto_ec2_gaps.reset_defaults()
