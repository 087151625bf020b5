# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options_info's include option through main(), against moto (MOTO_GAPS.md stand-ins)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps

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
            "launch_templates": {"unknown": 0, "endpoint_disabled": 0, "allows_imdsv1": 1, "enforced": 0}
        }
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
