# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance role checks against the emulator, and STS GetCallerIdentity against moto in server mode."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from moto_helpers import instance_role_credentials, moto_authentication, serve_credentials

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.sts import check_sts_identity, verify_sts_identity
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsTokenUnavailable
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import REGION_PATH, ROLES_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import (
    RoleCheckFailed,
    RoleReport,
    arn_parts,
    check_profile,
    check_role,
    parse_credentials,
    parse_expiration,
    profile_name,
    read_role,
    safe_credential_fields,
)

INSTANCE_ID = "i-0a1b2c3d4e5f60718"
ROLE = "web-server-role"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/web-server-profile"
CREDENTIALS_PATH = f"/latest/{ROLES_PATH}{ROLE}"


def assert_no_secret(emulator, *texts):
    """None of the values the emulator ever served may appear in any of ``texts``."""
    for text in texts:
        for secret in emulator.issued_secrets:
            assert secret not in text


def failure(client, **options) -> RoleCheckFailed:
    with pytest.raises(RoleCheckFailed) as caught:
        read_role(client, **options)
    return caught.value


# ---------------------------------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T15:30:18Z", datetime(2026, 11, 23, 15, 30, 18, tzinfo=timezone.utc)),
        ("2026-11-23T15:30:18.123Z", datetime(2026, 11, 23, 15, 30, 18, 123000, tzinfo=timezone.utc)),
        ("2026-11-23T17:30:18+02:00", datetime(2026, 11, 23, 15, 30, 18, tzinfo=timezone.utc)),
        ("2026-11-23T15:30:18", datetime(2026, 11, 23, 15, 30, 18, tzinfo=timezone.utc)),
    ],
)
def test_parse_expiration(text, expected):
    assert parse_expiration(text) == expected


@pytest.mark.parametrize("text", ["", "   ", None, 1700000000, "tomorrow", "2026-13-40T00:00:00Z"])
def test_parse_expiration_rejects(text):
    with pytest.raises(ValueError, match="is not an ISO 8601 time"):
        parse_expiration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PROFILE_ARN, "web-server-profile"),
        ("arn:aws-cn:iam::123456789012:instance-profile/team/a/web", "web"),
        ("web-server-profile", "web-server-profile"),
    ],
)
def test_profile_name(value, expected):
    assert profile_name(value) == expected


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (PROFILE_ARN, ("aws", "123456789012")),
        ("arn:aws-us-gov:iam::111122223333:instance-profile/x", ("aws-us-gov", "111122223333")),
        ("not-an-arn", None),
        ("arn:aws:iam:::instance-profile/x", None),
        (None, None),
    ],
)
def test_arn_parts(arn, expected):
    assert arn_parts(arn) == expected


@pytest.mark.parametrize("expected", ["web-server-profile", PROFILE_ARN])
def test_check_profile_accepts_name_or_arn(expected):
    assert check_profile(PROFILE_ARN, expected) is None
    # the same expectation against another profile is refused: the check compared, it did not just return
    with pytest.raises(RoleCheckFailed):
        check_profile("arn:aws:iam::123456789012:instance-profile/db-profile", expected)


def test_check_profile_without_expectation_accepts_any():
    assert check_profile(PROFILE_ARN, None) is None
    assert check_profile("arn:aws:iam::123456789012:instance-profile/db-profile", None) is None


@pytest.mark.parametrize("expected", ["", " "])
def test_an_empty_expectation_is_not_no_expectation(expected):
    """Fail closed: the module refuses an empty expected_* first; should one get through, it matches nothing."""
    with pytest.raises(RoleCheckFailed):
        check_profile(PROFILE_ARN, expected)
    with pytest.raises(RoleCheckFailed):
        check_role(ROLE, expected, PROFILE_ARN)


@pytest.mark.parametrize(
    "expected", ["db-profile", "arn:aws:iam::123456789012:instance-profile/db-profile", "web-server-prof"]
)
def test_check_profile_names_found_and_expected(expected):
    with pytest.raises(RoleCheckFailed) as caught:
        check_profile(PROFILE_ARN, expected, INSTANCE_ID)
    message = str(caught.value)
    assert caught.value.reason == "wrong_instance_profile"
    assert PROFILE_ARN in message
    assert expected in message
    assert "replace-iam-instance-profile-association" in message
    assert INSTANCE_ID in message


def test_check_role_names_found_and_expected():
    check_role(ROLE, ROLE, PROFILE_ARN)
    check_role(ROLE, None, PROFILE_ARN)
    with pytest.raises(RoleCheckFailed) as caught:
        check_role(ROLE, "db-role", PROFILE_ARN)
    assert caught.value.reason == "wrong_role"
    assert "'web-server-role'" in str(caught.value)
    assert "'db-role'" in str(caught.value)
    assert "add-role-to-instance-profile --instance-profile-name web-server-profile" in str(caught.value)


def test_safe_credential_fields_mask_every_form_of_a_secret():
    """A damaged document carrying its own token, URL-encoded, in LastUpdated: masked, not shown."""
    token = "IQoJb3/JpZ2+luX2=="
    fields = safe_credential_fields(
        {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s3cr3t", "Token": token, "LastUpdated": f"x {quote(token)}"}
    )
    assert fields == {"LastUpdated": "x ********"}


def document(**changes) -> bytes:
    base = {
        "Code": "Success",
        "LastUpdated": "2026-11-23T09:00:00Z",
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAEXAMPLE0000000001",
        "SecretAccessKey": "secret-value-0001",
        "Token": "token-value-0001",
        "Expiration": "2026-11-23T15:00:00Z",
    }
    base.update(changes)
    return json.dumps({key: value for key, value in base.items() if value is not None}).encode()


def test_parse_credentials_keeps_secrets_out_of_repr():
    credentials = parse_credentials(ROLE, document())
    assert credentials.secrets() == ("ASIAEXAMPLE0000000001", "secret-value-0001", "token-value-0001")
    for secret in credentials.secrets():
        assert secret not in repr(credentials)
    assert credentials.seconds_remaining(datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)) == 3600


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b"{not json", "credentials_malformed", "not valid JSON"),
        (b"[1, 2]", "credentials_malformed", "not an object"),
        (document(Token=None), "credentials_malformed", "lacks Token"),
        (document(Expiration="soon"), "credentials_malformed", "Expiration"),
        (
            json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "Message": "not authorized"}).encode(),
            "credentials_not_ready",
            "Code='AssumeRoleUnauthorizedAccess' (not authorized)",
        ),
        (
            document(Code="Failure", Message="key ASIAEXAMPLE0000000001 rejected"),
            "credentials_not_ready",
            "key ******** rejected",
        ),
    ],
)
def test_parse_credentials_failures_name_the_cause_without_values(body, reason, words):
    with pytest.raises(RoleCheckFailed) as caught:
        parse_credentials(ROLE, body)
    assert caught.value.reason == reason
    assert words in str(caught.value)
    for secret in ("ASIAEXAMPLE0000000001", "secret-value-0001", "token-value-0001"):
        assert secret not in str(caught.value)


# ---------------------------------------------------------------------------------------------- against the emulator
def test_read_role_reports_everything_but_secrets(emulator, make_client):
    seen = []
    report, credentials = read_role(make_client(), on_secrets=seen.extend)
    served = emulator.credentials
    assert report.role_name == ROLE
    assert report.instance_profile_arn == PROFILE_ARN
    assert report.instance_profile_id == "AIPAXAMPLEPROFILE0001"
    assert report.instance_id == INSTANCE_ID
    assert report.code == "Success"
    assert report.type == "AWS-HMAC"
    assert report.expiration == served["Expiration"]
    assert report.last_updated == served["LastUpdated"]
    assert 21500 < report.seconds_remaining <= 21600
    assert report.imds_version == 2
    assert sorted(seen) == sorted(served[key] for key in ("AccessKeyId", "SecretAccessKey", "Token"))
    assert credentials.secrets() == (served["AccessKeyId"], served["SecretAccessKey"], served["Token"])
    assert_no_secret(emulator, json.dumps(report.as_dict()), repr(report), repr(credentials))


def test_expectations_met_by_name_and_arn(emulator, make_client):
    report, _credentials = read_role(
        make_client(), expected_role=ROLE, expected_instance_profile=PROFILE_ARN, min_remaining=3600
    )
    assert report.instance_profile_name == "web-server-profile"


def test_no_role_says_how_to_attach_one(emulator, make_client):
    emulator.set_role(None)
    error = failure(make_client())
    assert error.reason == "no_role"
    assert f"aws ec2 associate-iam-instance-profile --instance-id {INSTANCE_ID}" in str(error)
    assert error.partial["instance_id"] == INSTANCE_ID


def test_wrong_role_names_both(emulator, make_client):
    emulator.set_role("db-role", instance_profile_arn=PROFILE_ARN)
    error = failure(make_client(), expected_role=ROLE)
    assert error.reason == "wrong_role"
    assert "holds role 'db-role', expected 'web-server-role'" in str(error)
    assert error.partial["role_name"] == "db-role"
    assert_no_secret(emulator, str(error), json.dumps(error.partial))


def test_wrong_profile_names_both(emulator, make_client):
    error = failure(make_client(), expected_instance_profile="app-profile")
    assert error.reason == "wrong_instance_profile"
    assert f"found {PROFILE_ARN!r}, expected 'app-profile'" in str(error)


def test_expiring_credentials_fail_below_min_remaining(emulator, make_client):
    emulator.rotate_credentials(expires_in=120)
    report, _credentials = read_role(make_client(), min_remaining=60)
    assert 100 < report.seconds_remaining <= 120
    error = failure(make_client(), min_remaining=900)
    assert error.reason == "credentials_expiring"
    assert "less than min_remaining=900s" in str(error)
    assert error.partial["seconds_remaining"] <= 120
    assert_no_secret(emulator, str(error), json.dumps(error.partial))


def test_negative_min_remaining_is_an_option_error_before_any_request(emulator, make_client):
    with pytest.raises(ImdsConfigError, match=r"min_remaining=-1 must be 0 or more") as raised:
        read_role(make_client(), min_remaining=-1)
    assert not isinstance(raised.value, RoleCheckFailed)
    assert raised.value.reason == "invalid_option"
    assert emulator.counters["total"] == 0


def test_expired_credentials_always_fail(emulator, make_client):
    emulator.rotate_credentials(expires_in=-600)
    error = failure(make_client())
    assert error.reason == "credentials_expired"
    assert "expired at" in str(error)
    assert "NTP" in str(error)
    assert -610 < error.partial["seconds_remaining"] <= -600


def test_now_is_injectable(emulator, make_client):
    later = datetime.now(timezone.utc) + timedelta(hours=7)
    assert failure(make_client(), now=later).reason == "credentials_expired"


def test_code_not_success(emulator, make_client):
    emulator.rotate_credentials(code="AssumeRoleUnauthorizedAccess")
    error = failure(make_client())
    assert error.reason == "credentials_not_ready"
    assert "AssumeRoleUnauthorizedAccess" in str(error)
    assert "trust policy" in str(error)
    assert error.partial["code"] == "AssumeRoleUnauthorizedAccess"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"Code": "InstanceProfileNotFound", "Message": "Instance profile not found"}', "credentials_not_ready"),
        ('{"Code": "Success", "AccessKeyId": "ASIA', "credentials_malformed"),
        ("<html>proxy error</html>", "credentials_malformed"),
    ],
)
def test_malformed_documents_from_imds(emulator, make_client, body, reason):
    emulator.add_fault("body", path=CREDENTIALS_PATH, body=body)
    error = failure(make_client())
    assert error.reason == reason
    assert_no_secret(emulator, str(error))


def test_token_required_but_unavailable_passes_the_client_error(emulator, make_client):
    emulator.set_options(http_tokens="required", client_hops=2, http_put_response_hop_limit=1)
    with pytest.raises(ImdsTokenUnavailable) as caught:
        read_role(make_client(allow_imdsv1=False, timeout=0.3, total_timeout=2.0))
    assert "hop limit" in str(caught.value)


def test_check_sts_identity():
    report = RoleReport(role_name=ROLE, instance_profile_arn=PROFILE_ARN, instance_id=INSTANCE_ID)
    good = f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{INSTANCE_ID}"
    check_sts_identity(report, {"account": "123456789012", "arn": good})
    for wrong in (
        f"arn:aws:sts::123456789012:assumed-role/{ROLE}/i-other",
        f"arn:aws:sts::999999999999:assumed-role/{ROLE}/{INSTANCE_ID}",
        "arn:aws:sts::123456789012:user/moto",
    ):
        with pytest.raises(RoleCheckFailed) as caught:
            check_sts_identity(report, {"account": "123456789012", "arn": wrong})
        assert caught.value.reason == "sts_arn_mismatch"
        assert wrong in str(caught.value)
        assert good in str(caught.value)


# ---------------------------------------------------------------------------------------------- STS through moto
def verify(client, moto_endpoint, region: str | None = "eu-west-1") -> RoleReport:
    report, credentials = read_role(client)
    verify_sts_identity(client, report, credentials, region, moto_endpoint)
    return report


def test_sts_accepts_moto_issued_credentials(emulator, make_client, moto_endpoint):
    serve_credentials(emulator, instance_role_credentials(moto_endpoint, ROLE, INSTANCE_ID))
    with moto_authentication(moto_endpoint):
        report = verify(make_client(), moto_endpoint)
    assert report.sts_identity["arn"] == f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{INSTANCE_ID}"
    assert report.sts_identity["account"] == "123456789012"
    assert report.sts_identity["user_id"].endswith(f":{INSTANCE_ID}")


@pytest.mark.parametrize(("region", "reads"), [("eu-west-1", 0), (None, 1)])
def test_sts_region_defaults_to_the_instance_region(emulator, make_client, moto_endpoint, region, reads):
    serve_credentials(emulator, instance_role_credentials(moto_endpoint, ROLE, INSTANCE_ID))
    with moto_authentication(moto_endpoint):
        report = verify(make_client(), moto_endpoint, region)
    assert report.sts_identity["account"] == "123456789012"
    assert emulator.path_counts.get(f"GET /latest/{REGION_PATH}", 0) == reads


def test_sts_rejects_random_credentials(emulator, make_client, moto_endpoint):
    with moto_authentication(moto_endpoint), pytest.raises(RoleCheckFailed) as caught:
        verify(make_client(), moto_endpoint)
    error = caught.value
    assert error.reason == "sts_rejected"
    assert "InvalidClientTokenId" in str(error)
    assert "security token included in the request is invalid" in str(error)
    assert error.partial["aws_error_code"] == "InvalidClientTokenId"
    assert error.partial["role_name"] == ROLE
    assert_no_secret(emulator, str(error), json.dumps(error.partial))


def test_sts_rejects_a_wrong_secret(emulator, make_client, moto_endpoint):
    issued = instance_role_credentials(moto_endpoint, ROLE, INSTANCE_ID)
    serve_credentials(emulator, {**issued, "SecretAccessKey": "not-the-secret-moto-issued-000000000000"})
    with moto_authentication(moto_endpoint), pytest.raises(RoleCheckFailed) as caught:
        verify(make_client(), moto_endpoint)
    assert caught.value.reason == "sts_rejected"
    assert "SignatureDoesNotMatch" in str(caught.value)
    assert "NTP" in str(caught.value)
    assert_no_secret(emulator, str(caught.value))


def test_sts_arn_of_another_session_fails(emulator, make_client, moto_endpoint):
    serve_credentials(emulator, instance_role_credentials(moto_endpoint, ROLE, "laptop-session"))
    with moto_authentication(moto_endpoint), pytest.raises(RoleCheckFailed) as caught:
        verify(make_client(), moto_endpoint)
    assert caught.value.reason == "sts_arn_mismatch"
    assert f"assumed-role/{ROLE}/laptop-session" in str(caught.value)
    assert f"assumed-role/{ROLE}/{INSTANCE_ID}" in str(caught.value)


def test_sts_unreachable(emulator, make_client):
    with pytest.raises(RoleCheckFailed) as caught:
        verify(make_client(), "http://127.0.0.1:9")
    assert caught.value.reason == "sts_unreachable"
    assert "sts_endpoint_url" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Token", "TOKENLEAK3\r\nX-Evil: injected"),
        ("SecretAccessKey", "SECRETLEAK4 with spaces"),
        ("AccessKeyId", "ASIA" + "K" * 200),
        ("Token", 12345),
    ],
)
def test_malformed_secret_values_are_refused_unquoted(emulator, make_client, field, value):
    # A CR/LF in a token would be sent on to STS as a forged header, and quoted back in its error.
    document = {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAEXAMPLEKEY000001",
        "SecretAccessKey": "s" * 40,
        "Token": "t" * 800,
        "Expiration": (datetime.now(timezone.utc) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        field: value,
    }
    emulator.add_fault("body", path=CREDENTIALS_PATH, body=json.dumps(document))
    error = failure(make_client())
    assert error.reason == "credentials_malformed"
    assert field in str(error)
    assert str(value)[:10] not in str(error)
