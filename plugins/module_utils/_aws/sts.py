# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""STS GetCallerIdentity with the instance role's own credentials (never the standard credential chain), and the
check that they are this instance's session of its role."""

from __future__ import annotations

from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import HAS_BOTO3, aws_client
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import REGION_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import (
    RoleCheckFailed,
    RoleCredentials,
    RoleReport,
    arn_parts,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_data, mask_text

if HAS_BOTO3:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

# Why STS refuses credentials, and what to do about it.
REJECTION_FIXES = {
    "InvalidClientTokenId": (
        "STS does not know this access key: the credentials were not issued by this account's STS (is the endpoint "
        "option this instance's IMDS?), or STS is deactivated in this region (IAM > Account settings > Security "
        "Token Service), or the region's partition differs from the role's"
    ),
    "ExpiredToken": (
        "they have expired for STS although IMDS still serves them: the host clock is probably wrong "
        "(check chronyd/NTP), or the credential service of the instance is stuck (stop and start the instance)"
    ),
    "SignatureDoesNotMatch": (
        "the secret key does not match the access key, or the host clock is far off (signatures carry the time): "
        "check chronyd/NTP, and that nothing rewrites the IMDS credential document"
    ),
}


def caller_identity(
    credentials: RoleCredentials, region: str | None, endpoint_url: str | None = None, partial: dict | None = None
) -> dict:
    """``{"account", "arn", "user_id"}`` of the credentials; RoleCheckFailed (secret-free) when STS refuses them."""
    partial = partial or {}
    secrets = credentials.secrets()
    client = aws_client(
        "sts",
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        session_token=credentials.token,
        region=region,
        endpoint_url=endpoint_url,
    )
    where = endpoint_url or f"the STS endpoint of {region}"
    try:
        answer: Any = client.get_caller_identity()
    except ClientError as error:
        info = error.response.get("Error", {})
        code = mask_text(str(info.get("Code") or "Unknown"), secrets)
        message = mask_text(str(info.get("Message") or ""), secrets)
        fix = REJECTION_FIXES.get(code, "see the AWS error message")
        raise RoleCheckFailed(
            f"STS ({where}) rejected the credentials of role {credentials.role_name!r} ({code}: {message}): {fix}.",
            "sts_rejected",
            aws_error_code=code,
            **partial,
        ) from None
    except EndpointConnectionError:
        raise RoleCheckFailed(
            f"Could not reach STS at {where}. From a subnet without internet access, create an STS interface VPC "
            "endpoint and pass its URL as sts_endpoint_url; otherwise check sts_region and the route to the API.",
            "sts_unreachable",
            **partial,
        ) from None
    except BotoCoreError as error:
        raise RoleCheckFailed(
            f"STS GetCallerIdentity at {where} failed: {mask_text(str(error), secrets)}. Check sts_endpoint_url and "
            "sts_region.",
            "sts_error",
            **partial,
        ) from None
    # What STS (or whatever answers at sts_endpoint_url) says is shown in messages and the result: masked, since an
    # ARN or user id can quote the credentials, URL-encoded or not.
    identity = {"account": answer.get("Account"), "arn": answer.get("Arn"), "user_id": answer.get("UserId")}
    return mask_data(identity, secrets)


def expected_sts_arn(report: RoleReport, account: str) -> str:
    """The ARN STS gives an instance role's credentials: the session name is the instance id."""
    partition = (arn_parts(report.instance_profile_arn) or ("aws", account))[0]
    return f"arn:{partition}:sts::{account}:assumed-role/{report.role_name}/{report.instance_id}"


def check_sts_identity(report: RoleReport, identity: dict) -> None:
    """The caller identity must be this instance's session of this role, in the profile's account."""
    parts = arn_parts(report.instance_profile_arn)
    account = parts[1] if parts else identity.get("account", "")
    expected = expected_sts_arn(report, account)
    if identity.get("arn") != expected:
        raise RoleCheckFailed(
            f"STS accepted the credentials but they belong to {identity.get('arn')!r}, not to this instance's "
            f"session of the role ({expected!r}). They were not issued to this instance: check that the endpoint "
            "option points at this instance's IMDS and that nothing on the host serves other credentials.",
            "sts_arn_mismatch",
            **report.as_dict(),
        )


def verify_sts_identity(
    client: Any, report: RoleReport, credentials: RoleCredentials, region: str | None, endpoint_url: str | None
) -> dict:
    """Ask STS who the credentials belong to and check it is this instance's session of the role.

    ``region`` defaults to the instance's own, read through the IMDS ``client``. Sets ``report.sts_identity``
    (also on the failure's partial result) and returns it; RoleCheckFailed, or the client's ImdsError.
    """
    region = region or client.get_text(REGION_PATH).strip()
    report.sts_identity = caller_identity(credentials, region, endpoint_url, partial=report.as_dict())
    check_sts_identity(report, report.sts_identity)
    return report.sts_identity
