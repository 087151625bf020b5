# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The collection's own exceptions. Each message names the cause and the fix; ``reason`` is stable for playbooks."""

from __future__ import annotations


class ImdsError(Exception):
    """Base class. Modules turn it into ``fail_json(msg=str(error), reason=error.reason, ...)``."""

    reason = "imds_error"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
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
