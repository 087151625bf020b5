# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's hop-limit policy (issue 30, item 4): a verdict beside the tokens one, for instances and launch paths."""

from __future__ import annotations

import uuid

import boto3
import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.hop_limit_policy import (
    HOP_LIMIT_VERDICT_NAMES,
    apply_policy,
    check_policy,
    hop_verdict,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.modules import metadata_options_info


@pytest.mark.parametrize(
    ("policy", "hop", "verdict"),
    [
        ({"max": 1}, 1, "within_policy"),
        ({"max": 1}, 2, "above_max"),
        ({"min": 2}, 1, "below_min"),
        ({"min": 2}, 3, "within_policy"),
        ({"max": 1}, None, "unknown"),
        ({"min": 2}, "2", "unknown"),
        ({"max": 1}, True, "unknown"),
    ],
)
def test_each_hop_limit_gets_its_verdict(policy, hop, verdict):
    assert hop_verdict(hop, policy)[0] == verdict


@pytest.mark.parametrize(
    "policy",
    [
        {"max": 0},
        {"min": 65},
        {"max": 1, "min": 2},
        {"most": 1},
        {"max": "one"},
        [1],
        # digits to str.isdigit() or isdecimal() that int() refuses or reads as another script's number (adv30 #22)
        {"max": "²"},
        {"min": "٣"},
        {"max": "\uff11"},
        {"max": " 1"},
        {"max": "+1"},
    ],
)
def test_a_policy_outside_the_grammar_is_refused_naming_the_option(policy):
    with pytest.raises(ImdsConfigError, match="hop_limit_policy must be"):
        check_policy(policy)


@pytest.mark.parametrize(
    ("policy", "checked"), [(None, None), ({}, None), ({"max": "1"}, {"max": 1}), ({"min": 3}, {"min": 3})]
)
def test_a_policy_in_the_grammar_is_read(policy, checked):
    assert check_policy(policy) == checked


def test_a_thing_with_several_paths_gets_the_worst_and_without_a_policy_nothing_is_added():
    result = {
        "auto_scaling_groups": [
            {"launch_paths": [{"effective": {"http_put_response_hop_limit": 1}}, {"effective": {}}]},
        ],
        "instances": [{"metadata_options": {"http_put_response_hop_limit": 2}}],
    }
    untouched = repr(result)
    apply_policy(result, None)
    assert repr(result) == untouched
    apply_policy(result, {"max": 1})
    group = result["auto_scaling_groups"][0]
    assert [path["hop_limit_verdict"] for path in group["launch_paths"]] == ["within_policy", "unknown"]
    assert group["hop_limit_verdict"] == "unknown"
    assert result["instances"][0]["hop_limit_verdict"] == "above_max"
    assert result["hop_limit_summary"]["instances"] == {**dict.fromkeys(HOP_LIMIT_VERDICT_NAMES, 0), "above_max": 1}


def test_the_audit_gives_a_hop_limit_verdict_beside_the_tokens_one(run_module, moto_endpoint):
    region = "sa-east-1"
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    made = {}
    for hop in (1, 2):
        name = f"hop-{hop}-{uuid.uuid4().hex[:8]}"
        data = {
            "ImageId": "ami-0000000000000a001",
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": hop},
        }
        made[hop] = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)["LaunchTemplate"][
            "LaunchTemplateId"
        ]
    try:
        options = {"endpoint_url": moto_endpoint, "region": region, "include": ["launch_templates"]}
        result = run_module(metadata_options_info, {**options, "hop_limit_policy": {"max": 1}})
        assert result.get("failed") is not True, result
        by_id = {item["launch_template_id"]: item for item in result["launch_templates"]}
        assert by_id[made[1]]["hop_limit_verdict"] == "within_policy"
        assert by_id[made[2]]["hop_limit_verdict"] == "above_max"
        assert by_id[made[2]]["verdict"] in ("enforced", "unknown")  # the tokens verdict is still its own
        assert result["hop_limit_policy"] == {"max": 1}
        plain = run_module(metadata_options_info, options)
        assert "hop_limit_summary" not in plain
        assert all("hop_limit_verdict" not in item for item in plain["launch_templates"])
        refused = run_module(metadata_options_info, {**options, "hop_limit_policy": {"max": 99}})
        assert refused["reason"] == "invalid_option"
        assert "hop_limit_policy" in refused["msg"]
    finally:
        for template_id in made.values():
            ec2.delete_launch_template(LaunchTemplateId=template_id)
