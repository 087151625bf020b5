# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tests need from the moto server besides the link: instance roles as EC2 has them, and moto's authentication.

boto3 and requests are imported by the callers' processes only: the emulator itself stays stdlib-only.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator

EC2_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)

# A new instance's metadata options as EC2 (and moto) set them, in the module's option names.
EC2_DEFAULT_METADATA_OPTIONS = {
    "http_tokens": "optional",
    "http_put_response_hop_limit": 1,
    "http_endpoint": "enabled",
    "http_protocol_ipv6": "disabled",
    "instance_metadata_tags": "disabled",
}


def ensure_role(iam: Any, role_name: str) -> str:
    """The ARN of an EC2 instance role, created unless this moto server already has it (servers outlive tests)."""
    try:
        return iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=EC2_TRUST_POLICY)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=role_name)["Role"]["Arn"]


def instance_role_credentials(moto_endpoint: str, role_name: str, session_name: str) -> dict:
    """Credentials for the role as EC2 issues them: AssumeRole with the instance id as the session name."""
    import boto3

    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="eu-west-1")
    sts = boto3.client("sts", endpoint_url=moto_endpoint, region_name="eu-west-1")
    arn = ensure_role(iam, role_name)
    return sts.assume_role(RoleArn=arn, RoleSessionName=session_name)["Credentials"]


def serve_credentials(emulator: Any, credentials: dict) -> None:
    """Make the emulator serve STS-shaped credentials (e.g. from instance_role_credentials) for its role."""
    emulator.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


@contextlib.contextmanager
def moto_authentication(moto_endpoint: str) -> Iterator[None]:
    """moto accepts any credentials by default: make it check keys and signatures, then restore it."""
    import requests

    previous = requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=5).json()
    try:
        yield
    finally:
        restore = previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"].encode()
        requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=restore, timeout=5)
