# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_credentials_info through main(), against the emulator (and moto for verify_sts)."""

from __future__ import annotations

import json

import pytest
from moto_helpers import instance_role_credentials, moto_authentication, serve_credentials

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import session
from ansible_collections.ec2meta.imds.plugins.modules import role_credentials_info

INSTANCE_ID = "i-0a1b2c3d4e5f60718"
ROLE = "web-server-role"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/web-server-profile"


@pytest.fixture
def run(run_module, emulator):
    def runner(check_mode: bool = False, **args) -> dict:
        result = run_module(role_credentials_info, {"endpoint": emulator.url, **args}, check_mode=check_mode)
        text = json.dumps(result)
        if not args.get("return_credentials") or result.get("failed"):
            leaked = [secret[:8] for secret in emulator.issued_secrets if secret in text]
            assert not leaked, f"credential values in the module result: {leaked}"
        return result

    return runner


def test_reports_the_role_without_secrets(emulator, run):
    result = run(expected_role=ROLE, expected_instance_profile="web-server-profile", min_remaining=900)
    assert result["changed"] is False
    assert not result.get("failed")
    assert result["role_name"] == ROLE
    assert result["instance_profile_arn"] == PROFILE_ARN
    assert result["instance_profile_id"] == "AIPAXAMPLEPROFILE0001"
    assert result["instance_profile_name"] == "web-server-profile"
    assert result["instance_id"] == INSTANCE_ID
    assert result["code"] == "Success"
    assert result["type"] == "AWS-HMAC"
    assert result["expiration"] == emulator.credentials["Expiration"]
    assert result["last_updated"] == emulator.credentials["LastUpdated"]
    assert 21000 < result["seconds_remaining"] <= 21600
    assert result["imds_version"] == 2
    assert "credentials" not in result
    assert "sts_identity" not in result


def test_check_mode_reads_the_same(emulator, run):
    result = run(check_mode=True)
    assert result["role_name"] == ROLE
    assert result["changed"] is False


def test_imdsv1_fallback_is_reported(emulator, run):
    emulator.add_fault("status", path="/latest/api/token", status=404)
    assert run()["imds_version"] == 1


def test_return_credentials(emulator, run):
    result = run(return_credentials=True)
    served = emulator.credentials
    assert result["credentials"] == {
        "access_key_id": served["AccessKeyId"],
        "secret_access_key": served["SecretAccessKey"],
        "session_token": served["Token"],
        "expiration": served["Expiration"],
    }


@pytest.mark.parametrize(
    ("setup", "args", "reason", "words"),
    [
        (lambda e: e.set_role(None), {}, "no_role", "aws ec2 associate-iam-instance-profile --instance-id i-0a1b"),
        (
            lambda e: e.set_role("db-role", instance_profile_arn=PROFILE_ARN),
            {"expected_role": ROLE},
            "wrong_role",
            "holds role 'db-role', expected 'web-server-role'",
        ),
        (
            lambda e: None,
            {"expected_instance_profile": "db-profile"},
            "wrong_instance_profile",
            "expected 'db-profile'",
        ),
        (
            lambda e: e.rotate_credentials(expires_in=200),
            {"min_remaining": 600},
            "credentials_expiring",
            "min_remaining=600",
        ),
        (lambda e: e.rotate_credentials(expires_in=-5), {}, "credentials_expired", "expired at"),
        (lambda e: e.rotate_credentials(code="Failure"), {}, "credentials_not_ready", "Code='Failure'"),
        (
            lambda e: e.add_fault("body", path=f"/latest/meta-data/iam/security-credentials/{ROLE}", body="{oops"),
            {},
            "credentials_malformed",
            "not valid JSON",
        ),
    ],
)
def test_failures_name_cause_and_fix(emulator, run, setup, args, reason, words):
    setup(emulator)
    # Even when asked for, credentials never come back with a failure.
    result = run(return_credentials=True, **args)
    assert result["failed"] is True
    assert result["reason"] == reason
    assert words in result["msg"]
    assert "credentials" not in result


def test_partial_result_on_failure(emulator, run):
    emulator.rotate_credentials(expires_in=100)
    result = run(min_remaining=300, expected_role=ROLE)
    assert result["failed"]
    assert result["role_name"] == ROLE
    assert result["seconds_remaining"] <= 100


def test_token_required_but_unavailable(emulator, run):
    emulator.set_options(http_tokens="required", client_hops=2, http_put_response_hop_limit=1)
    result = run(allow_imdsv1=False, timeout=0.3, total_timeout=2.0)
    assert result["failed"]
    assert result["reason"] == "token_unavailable"
    assert "hop limit" in result["msg"]


def test_negative_min_remaining(emulator, run):
    result = run(min_remaining=-1)
    assert result["failed"]
    assert "min_remaining=-1" in result["msg"]
    assert emulator.counters["total"] == 0


def test_missing_boto3_only_matters_for_verify_sts(emulator, run, monkeypatch):
    monkeypatch.setattr(session, "HAS_BOTO3", False)
    assert not run().get("failed")
    result = run(verify_sts=True)
    assert result["failed"]
    assert "boto3" in result["msg"]


def test_verify_sts(emulator, run, moto_endpoint):
    serve_credentials(emulator, instance_role_credentials(moto_endpoint, ROLE, INSTANCE_ID))
    with moto_authentication(moto_endpoint):
        result = run(verify_sts=True, sts_endpoint_url=moto_endpoint)
    assert not result.get("failed"), result.get("msg")
    assert result["sts_identity"] == {
        "account": "123456789012",
        "arn": f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{INSTANCE_ID}",
        "user_id": result["sts_identity"]["user_id"],
    }
    assert result["sts_identity"]["user_id"].endswith(f":{INSTANCE_ID}")


def test_verify_sts_rejects_credentials_moto_never_issued(emulator, run, moto_endpoint):
    with moto_authentication(moto_endpoint):
        result = run(verify_sts=True, sts_endpoint_url=moto_endpoint, sts_region="eu-west-1")
    assert result["failed"]
    assert result["reason"] == "sts_rejected"
    assert result["aws_error_code"] == "InvalidClientTokenId"
    assert "security token included in the request is invalid" in result["msg"]


def test_verify_sts_other_session(emulator, run, moto_endpoint):
    serve_credentials(emulator, instance_role_credentials(moto_endpoint, ROLE, "someone-else"))
    with moto_authentication(moto_endpoint):
        result = run(verify_sts=True, sts_endpoint_url=moto_endpoint)
    assert result["failed"]
    assert result["reason"] == "sts_arn_mismatch"
    assert "assumed-role/web-server-role/someone-else" in result["msg"]
    assert result["sts_identity"]["arn"].endswith("/someone-else")
