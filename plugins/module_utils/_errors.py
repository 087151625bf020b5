# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The collection's own exceptions. Each message names the cause and the fix; ``reason`` is stable for playbooks."""

from __future__ import annotations

from typing import Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_text

# A message names a cause and a fix in far fewer characters; AWS can echo back every id it was sent (20,000 unknown
# instance ids are 420 KB), and a task result, a log line and a report cell all carry the message whole.
MAX_MESSAGE_CHARS = 4000


def bounded_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` whole when it fits; else its start, cut at a word boundary, and how much was left out."""
    if len(message) <= limit:
        return message
    head = message[:limit]
    space = head.rfind(" ")
    head = head[:space] if space > limit // 2 else head
    return f"{head} ... ({len(message) - len(head)} more characters left out)"


class ImdsError(Exception):
    """Base class. Modules turn it into ``fail_json(msg=str(error), reason=error.reason, ...)``."""

    reason = "imds_error"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(bounded_message(str(message)))
        self.url = url
        self.status = status

    def details(self) -> dict:
        """Extra, secret-free fields a module can add to its failure result."""
        result: dict = {"reason": self.reason}
        if self.url is not None:
            result["url"] = self.url
        if self.status is not None:
            result["status"] = self.status
        return result


class ImdsConfigError(ImdsError):
    """An option or environment variable is invalid; nothing was sent."""

    reason = "invalid_option"


class ImdsDisabledByEnvironment(ImdsConfigError):
    reason = "disabled_by_environment"


class ImdsUnreachable(ImdsError):
    """No TCP connection to the endpoint: not on EC2, wrong endpoint, or a firewall."""

    reason = "unreachable"


class ImdsEndpointDisabled(ImdsError):
    """IMDS answers 403: the instance's metadata endpoint is turned off."""

    reason = "endpoint_disabled"


class ImdsTokenRequired(ImdsError):
    """IMDS answers 401 to a request without a token, and no token could be had or IMDSv1 was used."""

    reason = "token_required"


class ImdsTokenUnavailable(ImdsError):
    """The token PUT failed in a way that IMDSv1 could have worked around, but IMDSv1 is not allowed."""

    reason = "token_unavailable"


class ImdsThrottled(ImdsError):
    reason = "throttled"


class ImdsServerError(ImdsError):
    reason = "server_error"


class ImdsTimeout(ImdsError):
    reason = "timeout"


class ImdsNotFound(ImdsError):
    reason = "not_found"


class ImdsBadResponse(ImdsError):
    """A response the service should never give: a redirect, a cut-off body, malformed JSON."""

    reason = "bad_response"


class ImdsInternalError(ImdsError):
    """A bug in the collection: an exception nothing else caught. The message asks for a report."""

    reason = "internal_error"


# ---------------------------------------------------------------------------------------------------------------
# The words for each cause, written once for the client, the probe, the lookup and the modules.

HOP_LIMIT_FIX = (
    "This is what a too-low hop limit looks like from a container or another extra network hop: set "
    "http_put_response_hop_limit to 2 (ec2meta.imds.metadata_options, or "
    "aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2)"
)
NOT_EC2_CAUSES = (
    "This host is probably not an EC2 instance, or the endpoint option / AWS_EC2_METADATA_SERVICE_ENDPOINT points "
    "elsewhere, or a firewall (iptables, a container network) blocks 169.254.169.254."
)


def not_found_error(path: str, url: str, fix: str = "") -> ImdsNotFound:
    """The 404 for ``path``; ``fix`` adds the caller's own way out (e.g. its ``default`` option)."""
    return ImdsNotFound(
        f"IMDS has no {path} on this instance (404). Check the path (it is relative to /latest/, e.g. "
        "meta-data/instance-id); iam/ exists only with an instance profile, tags/ only with "
        f"instance_metadata_tags=enabled, user-data only when it was set.{fix}",
        url=url,
        status=404,
    )


def unreachable_error(endpoint: str, url: str, detail: str, answered_before: bool) -> ImdsUnreachable:
    if answered_before:
        return ImdsUnreachable(
            f"IMDS at {endpoint} answered earlier in this run, then stopped taking connections ({detail}), and "
            "retries within total_timeout did not get through. IMDS limits connections and packets per second: "
            "lower forks on this host (fewer processes reading IMDS at once), or raise total_timeout.",
            url=url,
        )
    return ImdsUnreachable(f"Could not reach IMDS at {endpoint} ({detail}). {NOT_EC2_CAUSES}", url=url)


def deadline_error(url: str, total_timeout: float) -> ImdsTimeout:
    return ImdsTimeout(
        f"Gave up on {url}: total_timeout={total_timeout:g}s ran out. IMDS is slow, throttling or sending its answer "
        "too slowly; raise total_timeout, or make fewer requests at once.",
        url=url,
    )


def read_timeout_error(url: str, timeout: float, attempts: int) -> ImdsTimeout:
    return ImdsTimeout(
        f"IMDS did not answer {url} within timeout={timeout:g}s, {attempts} time(s). "
        "Raise timeout if this host is heavily loaded.",
        url=url,
    )


def bad_response_error(url: str, detail: str, status: int | None = None) -> ImdsBadResponse:
    return ImdsBadResponse(
        f"IMDS answered {url} badly: {detail}. This is not how EC2's IMDS answers; check the endpoint option and "
        "for a proxy or agent rewriting traffic.",
        url=url,
        status=status,
    )


def token_unavailable_error(why: str, url: str, status: int | None, hop_limit_hint: bool) -> ImdsTokenUnavailable:
    if hop_limit_hint:
        message = f"No IMDSv2 token: {why}, and IMDSv1 is not allowed. {HOP_LIMIT_FIX}."
    elif status == 403:
        message = (
            f"No IMDSv2 token: {why}, and IMDSv1 is not allowed. A 403 means the metadata endpoint is "
            "disabled (http_endpoint=disabled: enable it with ec2meta.imds.metadata_options "
            "http_endpoint=enabled) or the request passed through a proxy that added X-Forwarded-For."
        )
    else:
        message = (
            f"No IMDSv2 token: {why}, and IMDSv1 is not allowed (allow_imdsv1=false or "
            "AWS_EC2_METADATA_V1_DISABLED=true). The endpoint does not look like EC2's IMDS: check the "
            "endpoint option, or set allow_imdsv1=true for a service that only speaks IMDSv1."
        )
    return ImdsTokenUnavailable(message, url=url, status=status)


def status_error(
    status: int, path: str, url: str, token_used: bool, retries: int, fallback_reason: str | None = None
) -> ImdsError:
    """The error for an HTTP status the client does not turn into data."""
    if 300 <= status < 400:
        return ImdsBadResponse(
            f"IMDS answered {path} with a {status} redirect: redirects are never followed, so the token cannot "
            "reach another host. Check that the endpoint option points at the metadata service itself.",
            url=url,
            status=status,
        )
    if status == 401:
        if token_used:
            return ImdsTokenRequired(
                f"IMDS refused a fresh IMDSv2 token for {path} (401) twice. Something between this host and IMDS "
                "alters requests, or the clock jumped; retry, and check for proxies on the path.",
                url=url,
                status=status,
            )
        cause = f" IMDSv1 was used because {fallback_reason}." if fallback_reason else ""
        return ImdsTokenRequired(
            f"IMDS answered 401 to a request without a token: this instance requires IMDSv2 "
            f"(http_tokens=required).{cause} Make the token request work (for containers, a hop limit of 2), "
            "or allow IMDSv1 on the instance with ec2meta.imds.metadata_options http_tokens=optional.",
            url=url,
            status=status,
        )
    if status == 403:
        return ImdsEndpointDisabled(
            f"IMDS answered 403 for {path}: the instance metadata endpoint is disabled (http_endpoint=disabled). "
            "Enable it with ec2meta.imds.metadata_options http_endpoint=enabled, or "
            "aws ec2 modify-instance-metadata-options --instance-id <id> --http-endpoint enabled.",
            url=url,
            status=status,
        )
    if status == 404:
        return not_found_error(path, url)
    if status == 429:
        return ImdsThrottled(
            f"IMDS kept throttling requests for {path} (429) after {retries} retries. Lower the "
            "request rate: fewer forks on one host, a smaller gather_subset, or more retries.",
            url=url,
            status=status,
        )
    if status >= 500:
        return ImdsServerError(
            f"IMDS answered {path} with {status} after {retries} retries: the service is having "
            "trouble. Retry later; raise retries or total_timeout for a transient fault.",
            url=url,
            status=status,
        )
    return ImdsBadResponse(f"IMDS answered {path} with an unexpected {status}.", url=url, status=status)


def internal_error(error: BaseException, secrets: Iterable[str] = ()) -> ImdsInternalError:
    """``secrets`` are masked before the text is cut short: a cut secret would no longer match any mask."""
    text = mask_text(str(error), secrets)[:300]
    return ImdsInternalError(
        f"Internal error in ec2meta.imds ({error.__class__.__name__}: {text}). This is a bug: please report it at "
        "the collection's issue tracker with the task and, if you can, the -vvv output (it holds no secrets)."
    )
