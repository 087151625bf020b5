# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials a module did not get as options (the environment here; a profile or an instance role alike) are
masked too when an AWS answer quotes them: no_log never saw them (adversarial pass of issue 32, finding 21)."""

from __future__ import annotations

import json

import moto_ec2_gaps
import pytest

from ansible_collections.ec2meta.imds.plugins.modules import (
    image_imds_support,
    instance_metadata_defaults,
    metadata_options,
    metadata_options_info,
)

KEY = "AKIAENVIRONMENTKEY01"
SECRET = "environmentSecretThatMustNeverBeEchoed000"
TOKEN = "environmentSessionTokenThatMustNeverBeEchoed"
INSTANCE = "i-0123456789abcdef0"

# The module, its options, and the first AWS action it sends (the one that answers with the echo).
CASES = {
    "metadata_options one instance": (metadata_options, {"instance_id": INSTANCE, "http_tokens": "required"},
                                      "DescribeInstances"),
    "metadata_options many instances": (metadata_options, {"instance_ids": [INSTANCE], "http_tokens": "required"},
                                        "DescribeInstances"),
    "metadata_options_info": (metadata_options_info, {}, "DescribeInstances"),
    "instance_metadata_defaults": (instance_metadata_defaults, {}, "GetInstanceMetadataDefaults"),
    "image_imds_support": (image_imds_support, {"image_ids": ["ami-0123456789abcdef0"]}, "DescribeImages"),
}  # fmt: skip


@pytest.fixture
def environment_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    yield
    moto_ec2_gaps.clear_faults()


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_aws_error_quoting_environment_credentials_is_masked(case, run_module, moto_endpoint,
                                                                environment_credentials):  # fmt: skip
    module, options, action = CASES[case]
    echoed = f"Credential={KEY}/20261207/eu-west-1/ec2 secret {SECRET} token {TOKEN}"
    moto_ec2_gaps.inject_fault(action, "InvalidParameterValue", echoed)
    result = run_module(module, {"region": "eu-west-1", "endpoint_url": moto_endpoint, "aws_timeout": 60, **options})
    assert result.get("failed"), result
    text = json.dumps(result)
    assert "InvalidParameterValue" in text  # the error itself is reported
    for value in (KEY, SECRET, TOKEN):
        assert value not in text, f"{case} returned {value}"
