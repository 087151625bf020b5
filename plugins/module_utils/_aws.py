# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""AWS API access through boto3: the shared AWS options, client creation, and errors that name cause and fix.

The options are documented once in doc_fragments/aws.py (a unit test compares the keys).
"""

from __future__ import annotations

import os
import re
import traceback
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsError

try:
    import boto3
    from botocore.config import Config as BotocoreConfig
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

    # Stand-ins so that ``except``/``isinstance`` in this collection still work; modules fail before any call.
    class BotoCoreError(Exception):  # type: ignore[no-redef]
        pass

    ClientError = EndpointConnectionError = NoCredentialsError = NoRegionError = BotoCoreError  # type: ignore
    PartialCredentialsError = ProfileNotFound = BotoCoreError  # type: ignore

AWS_ARGUMENT_SPEC: dict = {
    "access_key": {"type": "str", "aliases": ["aws_access_key_id", "aws_access_key"], "no_log": True},
    "secret_key": {"type": "str", "aliases": ["aws_secret_access_key", "aws_secret_key"], "no_log": True},
    "session_token": {"type": "str", "aliases": ["aws_session_token", "security_token"], "no_log": True},
    "profile": {"type": "str", "aliases": ["aws_profile"]},
    "region": {"type": "str", "aliases": ["aws_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"]},
}

# Fixed, short timeouts and standard retries: a module never hangs on an unreachable endpoint. botocore's standard
# mode retries throttling (RequestLimitExceeded, Throttling, ...) with jittered exponential backoff; five attempts
# ride out a burst of a fleet-wide play without holding a task for more than about half a minute.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30
MAX_ATTEMPTS = 5
# The error codes AWS uses when the account's API request rate is exhausted (the standard retry mode's list).
THROTTLING_CODES = (
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
)

CREDENTIALS_FIX = (
    "give the access_key and secret_key options (and session_token for temporary credentials), or profile, "
    "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment of the host that runs "
    "the task, or run it where an instance profile or container role provides credentials"
)


class AwsError(ImdsError):
    """A failed AWS API call; ``code`` is the AWS error code when the API gave one.

    ``result`` holds what the task did before it failed (e.g. ``changed: true`` after a Modify), for the failure
    result of the module.
    """

    reason = "aws_error"

    def __init__(self, message: str, *, code: str | None = None, url: str | None = None, result: dict | None = None):
        super().__init__(message, url=url)
        self.code = code
        self.result = dict(result or {})

    def details(self) -> dict:
        result = {**self.result, **super().details()}
        if self.code is not None:
            result["aws_error_code"] = self.code
        return result


class AwsCredentialsMissing(AwsError):
    reason = "no_credentials"


class AwsRegionMissing(AwsError):
    reason = "no_region"


class AwsAccessDenied(AwsError):
    reason = "unauthorized"


class AwsUnreachable(AwsError):
    reason = "aws_unreachable"


class AwsThrottled(AwsError):
    reason = "throttled"


def aws_params(params: Mapping[str, Any]) -> dict:
    """The AWS options of a module's params, ready for ``aws_client(service, **aws_params(params))``."""
    return {name: params.get(name) for name in AWS_ARGUMENT_SPEC}


def region_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """AWS_REGION, then AWS_DEFAULT_REGION (botocore itself only reads the latter)."""
    environ = os.environ if environ is None else environ
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def _session(access_key, secret_key, session_token, profile) -> Any:
    if bool(access_key) != bool(secret_key):
        given, missing = ("access_key", "secret_key") if access_key else ("secret_key", "access_key")
        raise ImdsConfigError(f"{given} is set but {missing} is not: give both, or neither to use the standard chain")
    if session_token and not access_key:
        raise ImdsConfigError("session_token needs access_key and secret_key: give all three, or none")
    try:
        return boto3.session.Session(
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            aws_session_token=session_token or None,
            profile_name=profile or None,
        )
    except ProfileNotFound:
        where = f"profile {profile!r}" if profile else f"AWS_PROFILE={os.environ.get('AWS_PROFILE', '')!r}"
        raise ImdsConfigError(
            f"{where} is not in the AWS config or credentials files: fix the profile option or AWS_PROFILE, "
            "or add the profile to ~/.aws/config"
        ) from None


def aws_session_region(profile: str | None = None) -> str | None:
    """The region the standard chain gives (environment, then the profile's config), without any API call."""
    if not HAS_BOTO3:
        return region_from_environment()
    return region_from_environment() or _session(None, None, None, profile).region_name or None


def aws_client(
    service: str,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 client; credentials not given come from the standard chain (environment, profile, instance role).

    Raises ImdsConfigError for bad option combinations and AwsRegionMissing when no region can be found.
    Callers check HAS_BOTO3 first (modules fail with ``missing_required_lib('boto3')``).
    """
    session = _session(access_key, secret_key, session_token, profile)
    region = region or region_from_environment() or session.region_name or None
    config = BotocoreConfig(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        user_agent_extra="ec2meta.imds",
    )
    try:
        return session.client(service, region_name=region, endpoint_url=endpoint_url or None, config=config)
    except NoRegionError:
        raise AwsRegionMissing(
            f"No AWS region for the {service} API: set the region option, AWS_REGION or AWS_DEFAULT_REGION, "
            "or a region in the AWS profile"
        ) from None
    except ValueError as error:
        raise ImdsConfigError(f"endpoint_url {endpoint_url!r} is not a valid URL: {error}") from None


def error_code(error: Exception) -> str | None:
    """The AWS error code of a ClientError (e.g. ``InvalidInstanceID.NotFound``), else None."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def _unparsed_error(status: str, body: str) -> tuple[str, str]:
    """(code, message) of an XML error body botocore left unparsed (it then gives the HTTP status as the code).

    That happens when a service answers in another protocol than the client expects (moto does for CloudWatch).
    """
    code = re.search(r"<Code>([^<]{1,100})</Code>", body)
    message = re.search(r"<Message>([^<]{0,1000})</Message>", body)
    return (code.group(1) if code else status), (message.group(1) if message else body[:200])


def aws_error(error: Exception, action: str, fix: str = "") -> AwsError:
    """Turn a botocore exception from the call ``action`` (e.g. ``ec2:DescribeInstances``) into an AwsError."""
    suffix = f" {fix}" if fix else ""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return AwsCredentialsMissing(f"No AWS credentials found for {action}: {CREDENTIALS_FIX}.{suffix}")
    if isinstance(error, EndpointConnectionError):
        return AwsUnreachable(
            f"Could not connect to the AWS API for {action} ({error}): check endpoint_url, the region and the "
            "network path to the API (proxy, VPC endpoint)"
        )
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = info.get("Code") or "Unknown"
        message = info.get("Message") or str(error)
        if code.isdigit():
            code, message = _unparsed_error(code, message)
        if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
            return AwsAccessDenied(
                f"AWS refused {action} ({code}): the credentials in use lack the IAM permission {action}. "
                f"Allow {action} in the IAM policy of the user or role that runs the task.",
                code=code,
            )
        if code in THROTTLING_CODES:
            return AwsThrottled(
                f"AWS kept throttling {action} ({code}) after {MAX_ATTEMPTS} attempts with backoff: the account's API "
                "request rate is used up, often by many hosts calling at once. Run fewer hosts at a time (serial: or "
                "throttle: on the play, or fewer forks), spread the play out, or run it again in a few minutes.",
                code=code,
            )
        if code in ("AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"):
            return AwsCredentialsMissing(
                f"AWS rejected the credentials for {action} ({code}: {message}): they are wrong or expired. "
                f"{CREDENTIALS_FIX}.",
                code=code,
            )
        return AwsError(f"{action} failed ({code}): {message}.{suffix}", code=code)
    if isinstance(error, BotoCoreError):
        return AwsError(f"{action} failed: {error}.{suffix}")
    return AwsError(f"{action} failed: {error}.{suffix}")
