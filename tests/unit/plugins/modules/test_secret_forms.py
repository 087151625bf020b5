# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_credentials_info through main(): a secret is masked in every form, wherever the result or message comes from.

The credential values are shaped like AWS's (base64, with "/", "+" and "="), so URL-encoding changes them; the
emulator's document and a hostile STS stand-in (tests/emulator/fake_sts.py) put them in the places the module
shows: a dict key in LastUpdated, Type, STS's error message, the ARN and user id STS names.
"""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import quote, quote_plus

import pytest
from fake_sts import FakeSts

from ansible_collections.ec2meta.imds.plugins.modules import role_credentials_info


def forms(secret: str) -> dict[str, str]:
    """The forms a secret can take in output (written here, not taken from the code under test)."""
    return {
        "raw": secret,
        "quote": quote(secret, safe=""),
        "quote_slash_safe": quote(secret),
        "quote_plus": quote_plus(secret),
        "lower_hex": quote(secret, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
    }


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [f"{name} of {secret[:6]}..." for secret in secrets for name, form in forms(secret).items() if form in text]


def aws_shaped(prefix: str, size: int) -> str:
    return prefix + base64.b64encode(os.urandom(size)).decode() + "/+=="


@pytest.fixture
def served(emulator):
    """Serve credentials with "/+=" in them, quoted back in LastUpdated (as a dict key) and Type."""
    access_key_id = "ASIA" + base64.b32encode(os.urandom(10)).decode()[:16]
    secret_access_key = aws_shaped("wJalr", 27)
    token = aws_shaped("IQoJb3JpZ2luX2VjE", 300)
    emulator.set_credentials(access_key_id, secret_access_key, token)
    emulator.credentials["LastUpdated"] = {token: 1, quote(secret_access_key, safe=""): 2}
    emulator.credentials["Type"] = f"AWS-HMAC {quote_plus(token)}"
    return [access_key_id, secret_access_key, token]


@pytest.fixture
def run(run_module, emulator):
    def runner(**args) -> dict:
        return run_module(role_credentials_info, {"endpoint": emulator.url, **args})

    return runner


def test_a_secret_as_a_dict_key_or_url_encoded_in_the_report_is_masked(run, served):
    result = run()
    assert not result.get("failed"), result.get("msg")
    assert leaks(json.dumps(result), served) == []
    assert "********" in result["last_updated"]
    assert result["type"] == "AWS-HMAC ********"


def test_the_same_in_a_failure_result(run, served):
    result = run(min_remaining=10**6)
    assert result["reason"] == "credentials_expiring"
    assert leaks(json.dumps(result), served) == []
    assert "********" in result["last_updated"]


@pytest.mark.parametrize("answer", ["error", "arn"])
def test_a_url_encoded_secret_in_what_sts_says_is_masked(run, served, answer):
    with FakeSts() as sts:
        result = run(verify_sts=True, sts_endpoint_url=f"{sts.url}/{answer}", sts_region="eu-west-1")
    assert result["failed"] is True
    assert leaks(json.dumps(result), served) == []
    if answer == "error":
        assert result["reason"] == "sts_rejected"
        assert "X-Amz-Security-Token=******** for ********" in result["msg"]
    else:
        assert result["reason"] == "sts_arn_mismatch"
        assert result["sts_identity"]["arn"] == "arn:aws:sts::123456789012:assumed-role/web-server-role/********"
        assert result["sts_identity"]["user_id"] == "AROAEXAMPLE:********"
        assert "assumed-role/web-server-role/********" in result["msg"]


def test_the_search_finds_what_the_fake_sts_quotes(served):
    """The control: unmasked, the texts above would hold the URL-encoded forms this test searches for."""
    token = served[2]
    assert quote(token, safe="") != token
    assert leaks(f"X-Amz-Security-Token={quote(token, safe='')}", served) != []
    assert leaks(json.dumps({token: 1}), served) != []
