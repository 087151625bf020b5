# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""AWS API access through boto3: the shared AWS options, client creation, and errors that name cause and fix.

The options are documented once in doc_fragments/aws.py (a unit test compares the keys).
"""

from __future__ import annotations

import math
import os
import re
import traceback
from typing import Any, Callable, Iterator, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._deadline_io import (
    BodyTooLarge,
    Deadline,
    DeadlineExpired,
    DeadlineResponse,
    HeadersTooLarge,
    ReadLimits,
    causes,
    send_with,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsError
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_AWS_ANSWER_BYTES, MAX_AWS_PAGES

try:
    import boto3
    from botocore.awsrequest import (
        AWSHTTPConnection,
        AWSHTTPConnectionPool,
        AWSHTTPSConnection,
        AWSHTTPSConnectionPool,
    )
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
    "aws_timeout": {"type": "float", "default": 300},
}

# Fixed, short timeouts and standard retries: a module never hangs on an unreachable endpoint. botocore's standard
# mode retries throttling (RequestLimitExceeded, Throttling, ...) with jittered exponential backoff; five attempts
# ride out a burst of a fleet-wide play without holding a task for more than about half a minute.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30
MAX_ATTEMPTS = 5
DEFAULT_AWS_TIMEOUT = 300
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


class AwsTimeout(AwsError):
    """The task's AWS calls ran past aws_timeout."""

    reason = "aws_timeout"


class AwsBadResponse(AwsError):
    """An AWS answer that is not what the API promises: too large, endless pages, more than was asked for."""

    reason = "bad_response"


MAX_AWS_TIMEOUT = 86400


class AwsBudget:
    """The time all AWS API calls of one task may take together: every page, retry, backoff and socket read.

    Every client of the task shares one budget (``aws_client(..., budget=)``). Before each request is sent the
    budget is checked, and the request's socket reads are bounded by it (see _deadline_io), so a task ends by its
    ``aws_timeout`` plus one connect timeout at most, whatever the endpoint does.
    """

    def __init__(self, seconds: Any):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 1 <= seconds <= MAX_AWS_TIMEOUT:
            raise ImdsConfigError(
                f"aws_timeout must be a number of seconds from 1 to {MAX_AWS_TIMEOUT}, not {seconds!r}: it bounds all "
                "AWS API calls of the task together (the default, 300, is enough for fleets of tens of thousands)"
            )
        self.seconds = float(seconds)
        self.deadline = Deadline(self.seconds)
        self.pages_read = 0  # every page of every paginated read, for the api_calls a result reports

    def extend(self, seconds: float) -> None:
        """More time for a wait the user asked for (wait_timeout comes on top of aws_timeout)."""
        self.deadline.expires += seconds
        self.seconds += seconds

    def check(self, action: str) -> None:
        if self.deadline.remaining() <= 0:
            raise AwsTimeout(
                f"The AWS API calls of this task ran past aws_timeout ({self.seconds:g}s) at {action}: the API "
                "answers too slowly, or keeps sending pages or retries. Check the endpoint and the network path "
                "(endpoint_url, proxy, VPC endpoint); raise aws_timeout only for a very large fleet"
            )

    def pages(
        self,
        call: Callable[..., Any],
        arguments: Mapping[str, Any],
        action: str,
        token_name: str = "NextToken",  # noqa: S107 - the name of a paging member
        max_pages: int = MAX_AWS_PAGES,
    ) -> Iterator[Mapping[str, Any]]:
        """Every page of a paginated read, each a dict; the next page is asked for with ``token_name``.

        An endless answer ends here: a token seen twice, more than ``max_pages`` pages, or a page that is not an
        object is an AwsBadResponse; the budget bounds the time. Errors of ``call`` become AwsErrors.
        """
        arguments = dict(arguments)
        seen: set = set()
        for page in range(1, max_pages + 1):
            self.check(action)
            try:
                response = call(**arguments)
            except Exception as error:
                raise aws_error(error, action) from None
            self.pages_read += 1
            if not isinstance(response, Mapping):
                raise AwsBadResponse(f"{action} answered with something that is not an object (page {page})")
            yield response
            following = response.get(token_name)
            if following is None or following == "":
                return
            if not isinstance(following, str) or following in seen:
                raise AwsBadResponse(
                    f"{action} sent the same {token_name} twice (page {page}): the pages would never end. The endpoint "
                    "is not behaving as AWS does; check endpoint_url"
                )
            seen.add(following)
            arguments[token_name] = following
        raise AwsBadResponse(
            f"{action} was still sending pages after {max_pages}: more than this task reads. Narrow the selection "
            "(instance_ids, filters), or check endpoint_url when the fleet is not that large"
        )


if HAS_BOTO3:
    # botocore's own connection classes, with the deadline- and cap-aware response of _deadline_io.

    class _AwsHTTPConnection(AWSHTTPConnection):
        response_class = DeadlineResponse

    class _AwsHTTPSConnection(AWSHTTPSConnection):
        response_class = DeadlineResponse

    class _AwsHTTPPool(AWSHTTPConnectionPool):
        ConnectionCls = _AwsHTTPConnection

    class _AwsHTTPSPool(AWSHTTPSConnectionPool):
        ConnectionCls = _AwsHTTPSConnection


def bound_client(client: Any, budget: AwsBudget) -> Any:
    """Make every request of ``client`` respect ``budget`` and MAX_AWS_ANSWER_BYTES; returns the client.

    Raises ImdsConfigError when botocore no longer has the hooks this relies on: an unbounded client is never used.
    """
    pools = getattr(getattr(getattr(client, "_endpoint", None), "http_session", None), "_pool_classes_by_scheme", None)
    if not isinstance(pools, dict):
        raise ImdsConfigError(
            "This botocore version does not let ec2meta.imds bound the time and size of AWS answers; use a botocore "
            "release this collection supports (see the requirements)"
        )
    pools.update(http=_AwsHTTPPool, https=_AwsHTTPSPool)

    def before_send(request: Any, event_name: str = "", **_kwargs: Any) -> None:
        budget.check(event_name.rsplit(".", 1)[-1] or "an AWS call")
        send_with(ReadLimits(budget.deadline, READ_TIMEOUT, MAX_AWS_ANSWER_BYTES))

    def before_parse(response_dict: Any, **_kwargs: Any) -> None:
        # Second line of defence, should a response come through another connection class.
        body = response_dict.get("body") if isinstance(response_dict, dict) else None
        if isinstance(body, (bytes, bytearray)) and len(body) > MAX_AWS_ANSWER_BYTES:
            raise BodyTooLarge(f"an answer over {MAX_AWS_ANSWER_BYTES} bytes")

    client.meta.events.register("before-send", before_send)
    client.meta.events.register("before-parse", before_parse)
    return client


def aws_params(params: Mapping[str, Any]) -> dict:
    """The AWS options of a module's params, ready for ``aws_client(service, **aws_params(params))``."""
    return {name: params.get(name) for name in AWS_ARGUMENT_SPEC}


def finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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


# The shape of every AWS region name (eu-west-1, us-gov-west-1, ap-southeast-5); botocore's own check is looser
# and its error reads like a bad endpoint_url.
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def check_region_option(region: Any) -> str | None:
    """The region option as given: None when unset; ImdsConfigError when empty or not shaped like a region name
    (an empty region must not fall back silently to the environment's)."""
    if region is None:
        return None
    if not isinstance(region, str) or not region.strip():
        raise ImdsConfigError(
            "region is empty: give a region name such as eu-west-1, or leave the option out to use AWS_REGION, "
            "AWS_DEFAULT_REGION or the AWS profile's region"
        )
    if not REGION_PATTERN.match(region):
        raise ImdsConfigError(f"region {region[:64]!r} is not an AWS region name: give names like eu-west-1")
    return region


def _chain_region(region: str | None) -> str | None:
    if region is not None and not REGION_PATTERN.match(region):
        raise ImdsConfigError(
            f"{region[:64]!r} (from AWS_REGION, AWS_DEFAULT_REGION or the AWS profile) is not an AWS region name: "
            "set the region option, or fix the environment or the profile"
        )
    return region


def aws_session(
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
    **_other_options: Any,
) -> Any:
    """The boto3 session of the credential options (the others, as ``aws_params`` gives them, are ignored)."""
    return _session(access_key, secret_key, session_token, profile)


# AWS key ids are 16 characters at least; shorter values (a test's "testing") would mask innocent text everywhere.
MIN_CREDENTIAL_LENGTH = 16


def session_secrets(session: Any) -> list[str]:
    """The credential values ``session`` has resolved (environment, profile, instance role): not module options, so
    Ansible does not know to mask them, yet an AWS error message may quote them. Only what botocore already resolved
    (creating a client does): resolving them here could itself call IMDS. The test of environment credentials fails
    if botocore stops keeping them where this reads them."""
    credentials = getattr(getattr(session, "_session", None), "_credentials", None)  # boto3 Session -> botocore's
    if credentials is None:
        return []
    try:
        frozen = credentials.get_frozen_credentials()
    except BotoCoreError:
        return []  # the client's first call fails on the same cause, with its own error
    values = (frozen.access_key, frozen.secret_key, frozen.token)
    return [value for value in values if isinstance(value, str) and len(value) >= MIN_CREDENTIAL_LENGTH]


def aws_session_region(profile: str | None = None) -> str | None:
    """The region the standard chain gives (environment, then the profile's config), without any API call."""
    if not HAS_BOTO3:
        return _chain_region(region_from_environment())
    return _chain_region(region_from_environment() or _session(None, None, None, profile).region_name or None)


def aws_client(
    service: str,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    aws_timeout: float | None = None,
    budget: AwsBudget | None = None,
    session: Any = None,
    max_attempts: int | None = None,
) -> Any:
    """A boto3 client bounded by ``budget`` (else a budget of its own of ``aws_timeout`` seconds); credentials not
    given come from the standard chain (environment, profile, instance role).

    ``session`` (from :func:`aws_session` with the same credential options) is reused instead of a new one: a new
    session loads the service model again, which costs more than the client (a search of every region makes dozens).
    ``max_attempts=1`` (None: MAX_ATTEMPTS) leaves retries to the caller (a rate limiter that must see each throttle).
    Raises ImdsConfigError for bad option combinations and AwsRegionMissing when no region can be found.
    Callers check HAS_BOTO3 first (modules fail with ``missing_required_lib('boto3')``).
    """
    budget = budget or AwsBudget(DEFAULT_AWS_TIMEOUT if aws_timeout is None else aws_timeout)
    session = session or _session(access_key, secret_key, session_token, profile)
    region = check_region_option(region) or _chain_region(region_from_environment() or session.region_name or None)
    config = BotocoreConfig(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": max_attempts or MAX_ATTEMPTS, "mode": "standard"},
        user_agent_extra="ec2meta.imds",
    )
    try:
        client = session.client(service, region_name=region, endpoint_url=endpoint_url or None, config=config)
    except NoRegionError:
        raise AwsRegionMissing(
            f"No AWS region for the {service} API: set the region option, AWS_REGION or AWS_DEFAULT_REGION, "
            "or a region in the AWS profile"
        ) from None
    except ValueError as error:
        raise ImdsConfigError(f"endpoint_url {endpoint_url!r} is not a valid URL: {error}") from None
    return bound_client(client, budget)


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
    if isinstance(error, AwsError):
        return error
    found = causes(error)
    if any(isinstance(cause, DeadlineExpired) for cause in found):
        return AwsTimeout(
            f"The AWS API calls of this task ran past aws_timeout while reading the answer to {action}: the answer "
            "arrived too slowly. Check the endpoint and the network path (endpoint_url, proxy, VPC endpoint)"
        )
    if any(isinstance(cause, (BodyTooLarge, HeadersTooLarge)) for cause in found):
        return AwsBadResponse(
            f"The answer to {action} was larger than ec2meta.imds reads ({MAX_AWS_ANSWER_BYTES} bytes of body, "
            "64 KiB of headers): refused before parsing. Narrow the selection, or check endpoint_url"
        )
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
