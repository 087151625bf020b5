# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 27, item 7: an empty or malformed region is refused naming the region (never the environment's region,
never blamed on endpoint_url), an empty template name is an invalid option, messages are bounded, and a Modify
that answers Return=false is not a change."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import (
    DefaultsNotChanged,
    RegionOutcome,
    apply_region,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    MAX_MESSAGE_CHARS,
    ImdsConfigError,
    bounded_message,
)
from ansible_collections.ec2meta.imds.plugins.modules import (
    auto_scaling_group_launch_template,
    fleet_launch_template,
    instance_metadata_defaults,
    launch_configuration_template,
    launch_template_metadata_options,
    metadata_options,
    metadata_options_info,
)

# Every module that takes the shared region option, with the rest of what it needs to get as far as the region.
REGION_MODULES = [
    (metadata_options_info, {}),
    (instance_metadata_defaults, {}),
    (launch_template_metadata_options, {"launch_template_id": "lt-0123456789abcdef0", "http_tokens": "required"}),
    (metadata_options, {"instance_id": "i-0123456789abcdef0", "http_tokens": "required"}),
    (auto_scaling_group_launch_template, {"auto_scaling_group_name": "web-asg"}),
    (fleet_launch_template, {"fleet_id": "fleet-01234567-89ab-cdef-0123-456789abcdef"}),
    (launch_configuration_template, {"auto_scaling_group_name": "web-asg"}),
]
IDS = [module.__name__.rsplit(".", 1)[1] for module, _arguments in REGION_MODULES]


@pytest.mark.parametrize(("module", "extra"), REGION_MODULES, ids=IDS)
@pytest.mark.parametrize("region", ["", "  "])
def test_an_empty_region_is_refused_not_replaced_by_the_environments(run_module, moto_endpoint, module, extra, region):
    result = run_module(module, {"endpoint_url": moto_endpoint, "region": region, **extra})
    assert result.get("failed") is True, result  # the environment has AWS_DEFAULT_REGION=eu-west-1
    assert result["reason"] == "invalid_option"
    assert "region is empty" in result["msg"]


@pytest.mark.parametrize(("module", "extra"), REGION_MODULES, ids=IDS)
@pytest.mark.parametrize("region", ["eu west 1", "EU-WEST-1", "eu-west-1/../x", "x" * 300])
def test_a_malformed_region_is_blamed_on_the_region(run_module, moto_endpoint, module, extra, region):
    result = run_module(module, {"endpoint_url": moto_endpoint, "region": region, **extra})
    assert (result.get("failed"), result.get("reason")) == (True, "invalid_option"), result
    assert "is not an AWS region name" in result["msg"]
    assert "endpoint_url" not in result["msg"]
    assert len(result["msg"]) < 300


def test_a_malformed_region_from_the_environment_is_named_as_such(run_module, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu west 1")
    args = {"endpoint_url": moto_endpoint, "instance_id": "i-0123456789abcdef0", "http_tokens": "required"}
    result = run_module(metadata_options, args)
    assert result["reason"] == "invalid_option"
    assert "AWS_REGION" in result["msg"]
    assert "endpoint_url" not in result["msg"]


def test_the_audit_refuses_a_region_botocore_does_not_know(run_module, moto_endpoint):
    result = run_module(metadata_options_info, {"endpoint_url": moto_endpoint, "region": "eu-nowhere-1"})
    assert (result.get("failed"), result.get("reason")) == (True, "invalid_option")
    assert "Unknown AWS region 'eu-nowhere-1'" in result["msg"]


@pytest.mark.parametrize(
    ("module", "option"),
    [
        (auto_scaling_group_launch_template, "auto_scaling_group_name"),
        (launch_configuration_template, "auto_scaling_group_name"),
        (fleet_launch_template, "fleet_id"),
    ],
)
def test_an_empty_group_or_fleet_is_an_invalid_option(run_module, moto_endpoint, module, option):
    result = run_module(module, {"endpoint_url": moto_endpoint, "region": "eu-west-1", option: "  "})
    assert (result.get("failed"), result.get("reason")) == (True, "invalid_option")
    assert f"{option} is empty" in result["msg"]


@pytest.mark.parametrize("selector", ["launch_template_name", "launch_template_id"])
def test_an_empty_template_selector_is_an_invalid_option(run_module, moto_endpoint, selector):
    args = {"endpoint_url": moto_endpoint, "region": "eu-west-1", selector: "", "http_tokens": "required"}
    result = run_module(launch_template_metadata_options, args)
    assert (result.get("failed"), result.get("reason")) == (True, "invalid_option")
    assert f"{selector} is empty" in result["msg"]


def test_an_answer_that_echoes_every_unknown_id_gives_a_bounded_message(run_module, moto_endpoint):
    ids = [f"i-{n:017x}" for n in range(3000)]  # 60 KB of ids, every one unknown to moto
    result = run_module(
        metadata_options_info, {"endpoint_url": moto_endpoint, "region": "eu-west-1", "instance_ids": ids}
    )
    assert result.get("failed") is True
    assert len(result["msg"]) <= MAX_MESSAGE_CHARS + 60
    assert "more characters left out" in result["msg"]


@pytest.mark.parametrize("size", [0, 10, MAX_MESSAGE_CHARS, MAX_MESSAGE_CHARS + 1, 10 * MAX_MESSAGE_CHARS, 420_000])
def test_bounded_message_keeps_what_fits_and_counts_the_rest(size):
    message = ("word " * size)[:size]
    bounded = bounded_message(message)
    if size <= MAX_MESSAGE_CHARS:
        assert bounded == message
    else:
        head, tail = bounded.split(" ... (")
        assert message.startswith(head)
        assert head.endswith("word")  # cut between words, never inside one
        assert tail == f"{size - len(head)} more characters left out)"
        assert len(bounded) <= MAX_MESSAGE_CHARS + 60


def test_every_collection_error_is_bounded():
    assert len(str(ImdsConfigError("x" * 100_000))) <= MAX_MESSAGE_CHARS + 60


class AnsweringEc2:
    """An EC2 client stand-in whose ModifyInstanceMetadataDefaults answers ``answer`` (moto always says true)."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = 0

    def modify_instance_metadata_defaults(self, **parameters):
        self.calls += 1
        return self.answer


@pytest.mark.parametrize("answer", [{"Return": False}, {}, {"Return": "false"}, None])
def test_a_modify_that_answers_return_false_is_not_a_change(answer):
    outcome = RegionOutcome("eu-west-1", True, {}, {"http_tokens": "required"}, {"http_tokens": "required"})
    ec2 = AnsweringEc2(answer)
    with pytest.raises(DefaultsNotChanged, match="the defaults were not changed") as raised:
        apply_region(ec2, AwsBudget(30), outcome)
    assert ec2.calls == 1
    assert raised.value.reason == "not_changed"


def test_a_modify_that_answers_return_true_is_a_change():
    outcome = RegionOutcome("eu-west-1", True, {}, {"http_tokens": "required"}, {"http_tokens": "required"})
    apply_region(AnsweringEc2({"Return": True}), AwsBudget(30), outcome)
    assert outcome.changed is True
