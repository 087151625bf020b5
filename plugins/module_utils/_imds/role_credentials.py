# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The instance role: which profile and role are attached, the credentials IMDS serves, and their expectations.

Secret values (AccessKeyId, SecretAccessKey, Token) live only in :class:`RoleCredentials` fields that stay out of
``repr``; no message, exception or report built here contains them. Callers get them through ``on_secrets`` so a
module can register them for masking before anything is printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsError, ImdsNotFound
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import parse_listing
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import INFO_PATH, INSTANCE_ID_PATH, ROLES_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._json import RAISE, load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_data, mask_text

SECRET_FIELDS = ("AccessKeyId", "SecretAccessKey", "Token")
# The only fields of a credential document that may leave the facts walk: the expiry and status, never a value.
SAFE_CREDENTIAL_FIELDS = ("Code", "LastUpdated", "Type", "Expiration")
# The longest credible value of each secret: access keys are 16 to 128 characters, secret keys 40, session tokens
# about a thousand and growing with session tags; anything longer is not a credential.
SECRET_LENGTHS = {"AccessKeyId": 128, "SecretAccessKey": 128, "Token": 8192}
REQUIRED_FIELDS = ("Code", "AccessKeyId", "SecretAccessKey", "Token", "Expiration")
# EC2 makes new role credentials available at least five minutes before the old ones expire.
ROTATION_MARGIN = 300


class RoleCheckFailed(ImdsError):
    """The role, its profile or its credentials are not what the play expects; ``reason`` names which check."""

    def __init__(self, message: str, reason: str, **partial: Any):
        super().__init__(message)
        self.reason = reason
        # What was found before the check failed (never a secret), for the module's failure result.
        self.partial = partial

    def details(self) -> dict:
        return {**super().details(), **self.partial}


@dataclass(frozen=True)
class RoleCredentials:
    """The credential document of the instance role. The secret fields never show in ``repr``."""

    role_name: str
    code: str
    type: Any
    last_updated: Any
    expiration: str
    expires_at: datetime
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    token: str = field(repr=False)

    def secrets(self) -> tuple[str, str, str]:
        return (self.access_key_id, self.secret_access_key, self.token)

    def seconds_remaining(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        return int((self.expires_at - now).total_seconds())

    def secret_dict(self) -> dict:
        """Only for ``return_credentials``: the values a play registers to call AWS as the instance role."""
        return {
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "session_token": self.token,
            "expiration": self.expiration,
        }


@dataclass
class RoleReport:
    """Everything a play may see about the role: no secret in here."""

    role_name: str | None = None
    instance_profile_arn: str | None = None
    instance_profile_id: str | None = None
    instance_id: str | None = None
    code: str | None = None
    type: str | None = None
    last_updated: str | None = None
    expiration: str | None = None
    seconds_remaining: int | None = None
    imds_version: int | None = None
    sts_identity: dict | None = None

    @property
    def instance_profile_name(self) -> str | None:
        return profile_name(self.instance_profile_arn) if self.instance_profile_arn else None

    def as_dict(self) -> dict:
        result = {
            "role_name": self.role_name,
            "instance_profile_arn": self.instance_profile_arn,
            "instance_profile_id": self.instance_profile_id,
            "instance_profile_name": self.instance_profile_name,
            "instance_id": self.instance_id,
            "code": self.code,
            "type": self.type,
            "last_updated": self.last_updated,
            "expiration": self.expiration,
            "seconds_remaining": self.seconds_remaining,
            "imds_version": self.imds_version,
        }
        if self.sts_identity is not None:
            result["sts_identity"] = dict(self.sts_identity)
        return {key: value for key, value in result.items() if value is not None}


# ---------------------------------------------------------------------------------------------- pure helpers
def profile_name(arn: str) -> str:
    """``arn:aws:iam::123:instance-profile/path/web`` -> ``web`` (a name without ``arn:`` is returned as is)."""
    if not arn.startswith("arn:"):
        return arn.rsplit("/", 1)[-1]
    resource = arn.split(":", 5)[-1]
    return resource.rsplit("/", 1)[-1]


def arn_parts(arn: str | None) -> tuple[str, str] | None:
    """(partition, account) of an ARN, or None when it is not one."""
    if not arn:
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[1] or not parts[4]:
        return None
    return parts[1], parts[4]


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([+-]\d{2}:\d{2})?\Z", re.ASCII)


def parse_expiration(text: Any) -> datetime:
    """``2026-11-23T15:30:18Z`` (fractions and offsets tolerated) as an aware UTC datetime; ValueError otherwise."""
    problem = f"Expiration {text!r} is not an ISO 8601 time"
    if not isinstance(text, str) or not text.strip():
        raise ValueError(problem)
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # One grammar on every Python: fromisoformat reads more forms on 3.11+ and others on older ones
    # ("...ZZ" parsed on 3.10).
    if not _ISO_TIME.match(value):
        raise ValueError(problem)
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        # OverflowError: a time whose offset takes it past year 1 or 9999 in UTC.
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(problem) from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _usable_secret(value: Any, longest: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= longest and all("!" <= char <= "~" for char in value)


def safe_credential_fields(document: Any) -> dict:
    """The fields of a credential document that may be shown (SAFE_CREDENTIAL_FIELDS), text only and masked of
    the document's secret values in any form, which a damaged document may carry there."""
    if not isinstance(document, dict):
        return {}
    secrets = document_secrets(document)
    return {
        key: mask_text(document[key], secrets) for key in SAFE_CREDENTIAL_FIELDS if isinstance(document.get(key), str)
    }


def document_secrets(document: dict) -> list[str]:
    """The secret values of a credential document, as text, whatever their type (a damaged one may hold anything)."""
    return [str(document.get(name) or "") for name in SECRET_FIELDS]


def is_credential_document(path: str) -> bool:
    """Whether ``path`` is a credential document or below one: ``iam/security-credentials/<role>``,
    ``identity-credentials/ec2/security-credentials/<name>``. The listing ``security-credentials/`` is not."""
    return "security-credentials" in path.strip("/").split("/")[:-1]


def attach_profile_command(instance_id: str | None) -> str:
    return (
        f"aws ec2 associate-iam-instance-profile --instance-id {instance_id or '<instance-id>'} "
        "--iam-instance-profile Name=<profile-name>"
    )


def attach_fix(instance_id: str | None) -> str:
    return "attach an instance profile: " + attach_profile_command(instance_id)


def check_profile(found_arn: str, expected: str | None, instance_id: str | None = None) -> None:
    """``expected`` is a full ARN (compared exactly) or a profile name (compared with the ARN's last segment). Only
    None skips the check: an empty expectation matches nothing (the module refuses one before reading)."""
    if expected is None:
        return
    found_name = profile_name(found_arn)
    matches = found_arn == expected if expected.startswith("arn:") else found_name == expected
    if matches:
        return
    raise RoleCheckFailed(
        f"Wrong instance profile: found {found_arn!r}, expected {expected!r}. Replace it: aws ec2 "
        "describe-iam-instance-profile-associations --filters Name=instance-id,Values="
        f"{instance_id or '<instance-id>'} gives the association id, then aws ec2 "
        "replace-iam-instance-profile-association --association-id <id> --iam-instance-profile "
        f"{'Arn' if expected.startswith('arn:') else 'Name'}={expected}. Or fix expected_instance_profile.",
        "wrong_instance_profile",
    )


def check_role(found: str, expected: str | None, profile_arn: str | None) -> None:
    if expected is None or found == expected:
        return
    name = profile_name(profile_arn) if profile_arn else "<profile-name>"
    raise RoleCheckFailed(
        f"Wrong role: the instance profile {name!r} holds role {found!r}, expected {expected!r}. Put the "
        f"expected role in the profile (aws iam remove-role-from-instance-profile --instance-profile-name {name} "
        f"--role-name {found}; aws iam add-role-to-instance-profile --instance-profile-name {name} --role-name "
        f"{expected}), attach a profile that holds it, or fix expected_role.",
        "wrong_role",
    )


def check_remaining(credentials: RoleCredentials, min_remaining: int, now: datetime | None = None) -> int:
    """Seconds the credentials stay valid; RoleCheckFailed when expired or below ``min_remaining``."""
    remaining = credentials.seconds_remaining(now)
    if remaining <= 0:
        raise RoleCheckFailed(
            f"The credentials of role {credentials.role_name!r} expired at {credentials.expiration} "
            f"({-remaining}s ago). EC2 replaces them at least {ROTATION_MARGIN // 60} minutes before expiry, so "
            "the host clock is probably wrong (check chronyd/NTP against 169.254.169.123) or the credential service "
            "of the instance is stuck (stop and start the instance, or re-associate the instance profile).",
            "credentials_expired",
        )
    if remaining < min_remaining:
        raise RoleCheckFailed(
            f"The credentials of role {credentials.role_name!r} expire at {credentials.expiration}, in {remaining}s, "
            f"less than min_remaining={min_remaining}s. EC2 rotates them at least {ROTATION_MARGIN // 60} minutes "
            "before expiry: retry after the rotation, check the host clock (chronyd/NTP), or lower min_remaining.",
            "credentials_expiring",
        )
    return remaining


# What to do about a damaged credential document, the end of each such message.
_CREDENTIALS_FIX = (
    "Retry in a minute; if it persists, re-associate the instance profile (aws ec2 "
    "replace-iam-instance-profile-association) or check for an agent rewriting IMDS traffic."
)


def _load_document(role_name: str, body: bytes) -> dict:
    """The credential document as a JSON object; RoleCheckFailed otherwise."""
    try:
        document = load_json(body, invalid=RAISE)
    except ValueError:
        raise RoleCheckFailed(
            f"IMDS answered the credentials of role {role_name!r} with {len(body)} bytes that are not valid JSON. "
            f"{_CREDENTIALS_FIX}",
            "credentials_malformed",
        ) from None
    if not isinstance(document, dict):
        raise RoleCheckFailed(
            f"IMDS answered the credentials of role {role_name!r} with JSON that is not an object. {_CREDENTIALS_FIX}",
            "credentials_malformed",
        )
    return document


def _check_code(role_name: str, document: dict, secrets: list[str]) -> None:
    """RoleCheckFailed when the document's Code says the credentials are not ready."""
    code = document.get("Code")
    if code is not None and code != "Success":
        # Masked like the message: a damaged document may carry a secret where the status belongs.
        code = mask_text(str(code), secrets)
        message = mask_text(str(document.get("Message") or "no message"), secrets)
        raise RoleCheckFailed(
            f"IMDS has no usable credentials for role {role_name!r}: Code={code!r} ({message}). The role's trust "
            "policy must allow ec2.amazonaws.com to sts:AssumeRole, and the role and profile must exist; "
            "after fixing, credentials appear within minutes.",
            "credentials_not_ready",
            code=code,
        )


def _check_fields(role_name: str, document: dict) -> None:
    """RoleCheckFailed when a required field is missing or a secret is not a credible one."""
    missing = [name for name in REQUIRED_FIELDS if not document.get(name)]
    if missing:
        raise RoleCheckFailed(
            f"The credential document of role {role_name!r} lacks {', '.join(missing)}. {_CREDENTIALS_FIX}",
            "credentials_malformed",
        )
    malformed = [name for name in SECRET_FIELDS if not _usable_secret(document[name], SECRET_LENGTHS[name])]
    if malformed:
        # Named, never quoted: a malformed secret is still a secret, and a line break in one would let it be sent
        # on as a forged header.
        raise RoleCheckFailed(
            f"The credential document of role {role_name!r} has a {', '.join(malformed)} that is not a plain string "
            f"of visible ASCII characters of a credible length. {_CREDENTIALS_FIX}",
            "credentials_malformed",
        )


def _document_expiry(role_name: str, document: dict) -> datetime:
    try:
        return parse_expiration(document["Expiration"])
    except ValueError:
        raise RoleCheckFailed(
            f"The credential document of role {role_name!r} has an Expiration that is not an ISO 8601 time. "
            f"{_CREDENTIALS_FIX}",
            "credentials_malformed",
        ) from None


def parse_credentials(role_name: str, body: bytes) -> RoleCredentials:
    """The credential document served for ``role_name``; RoleCheckFailed naming what is wrong, never its values."""
    document = _load_document(role_name, body)
    secrets = document_secrets(document)
    _check_code(role_name, document, secrets)
    _check_fields(role_name, document)
    expires_at = _document_expiry(role_name, document)
    return RoleCredentials(
        role_name=role_name,
        code=str(document["Code"]),
        # Shown in the module's result: masked here, keys included (a LastUpdated of {<token>: 1} is not text).
        type=mask_data(document.get("Type"), secrets),
        last_updated=mask_data(document.get("LastUpdated"), secrets),
        expiration=str(document["Expiration"]),
        expires_at=expires_at,
        access_key_id=str(document["AccessKeyId"]),
        secret_access_key=str(document["SecretAccessKey"]),
        token=str(document["Token"]),
    )


# ---------------------------------------------------------------------------------------------- reading IMDS
def _read_profile(client: Any, deadline: Any, report: RoleReport) -> None:
    """iam/info into ``report``: the instance profile's ARN and id; RoleCheckFailed without a profile."""
    try:
        info = client.get_json(INFO_PATH, deadline)
    except ImdsNotFound:
        raise RoleCheckFailed(
            f"No IAM role is attached to this instance (IMDS answers 404 for iam/): {attach_fix(report.instance_id)}"
            " (with Ansible: amazon.aws.ec2_instance and its iam_instance_profile option).",
            "no_role",
            **report.as_dict(),
        ) from None
    if isinstance(info, dict):
        # Text or nothing: the report's name and checks take the ARN apart as a string.
        report.instance_profile_arn = _text(info.get("InstanceProfileArn"))
        report.instance_profile_id = _text(info.get("InstanceProfileId"))
    if not report.instance_profile_arn:
        raise RoleCheckFailed(
            "IMDS answered iam/info without an InstanceProfileArn. Retry; if it persists, re-associate the "
            "instance profile (aws ec2 replace-iam-instance-profile-association).",
            "credentials_malformed",
            **report.as_dict(),
        )


def _read_role_name(client: Any, deadline: Any, report: RoleReport) -> str:
    """The first role the profile lists; RoleCheckFailed when it lists none."""
    roles = [entry.name for entry in parse_listing(client.get_text(ROLES_PATH, deadline))]
    if not roles:
        name = report.instance_profile_name
        raise RoleCheckFailed(
            f"The instance profile {name!r} holds no role: aws iam add-role-to-instance-profile "
            f"--instance-profile-name {name} --role-name <role-name>.",
            "no_role",
            **report.as_dict(),
        )
    return roles[0]


def _read_checked_credentials(
    client: Any,
    deadline: Any,
    report: RoleReport,
    expected_role: str | None,
    expected_instance_profile: str | None,
) -> RoleCredentials:
    """The role's credentials, once profile and role are the expected ones; a RoleCheckFailed carries ``report``."""
    try:
        check_profile(report.instance_profile_arn, expected_instance_profile, report.instance_id)
        check_role(report.role_name, expected_role, report.instance_profile_arn)
        body = client.get(ROLES_PATH + report.role_name, deadline)
        return parse_credentials(report.role_name, body)
    except RoleCheckFailed as error:
        error.partial = {**report.as_dict(), **error.partial}
        raise


def _report_credentials(report: RoleReport, credentials: RoleCredentials, client: Any, now: datetime | None) -> None:
    """The shown fields of the credentials into ``report``: no secret."""
    report.code = credentials.code
    report.type = credentials.type
    report.last_updated = credentials.last_updated
    report.expiration = credentials.expiration
    report.seconds_remaining = credentials.seconds_remaining(now)
    report.imds_version = client.imds_version


def read_role(
    client: Any,
    expected_role: str | None = None,
    expected_instance_profile: str | None = None,
    min_remaining: int = 0,
    now: datetime | None = None,
    on_secrets: Callable[[Iterable[str]], Any] | None = None,
) -> tuple[RoleReport, RoleCredentials]:
    """Read iam/info, the role and its credentials and check the expectations.

    ``on_secrets`` receives the secret values as soon as the document is parsed, before the expiry check.
    Raises ImdsConfigError for a bad option (before any request), RoleCheckFailed (with ``partial``: what was found
    so far) or the client's ImdsError.
    """
    if min_remaining < 0:
        raise ImdsConfigError(f"min_remaining={min_remaining} must be 0 or more seconds.")
    deadline = client.new_deadline()
    report = RoleReport()
    report.instance_id = client.get_text(INSTANCE_ID_PATH, deadline).strip() or None
    report.imds_version = client.imds_version
    _read_profile(client, deadline, report)
    report.role_name = _read_role_name(client, deadline, report)
    credentials = _read_checked_credentials(client, deadline, report, expected_role, expected_instance_profile)
    if on_secrets is not None:
        on_secrets(credentials.secrets())
    _report_credentials(report, credentials, client, now)
    try:
        check_remaining(credentials, min_remaining, now)
    except RoleCheckFailed as error:
        error.partial = report.as_dict()
        raise
    return report, credentials
