# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.

from __future__ import annotations


class ModuleDocFragment:
    # The options of module_utils/_aws/session.py AWS_ARGUMENT_SPEC; tests/unit checks that both agree.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - When not set, the standard credential chain of boto3 is used, in this order, E(AWS_ACCESS_KEY_ID) and
        E(AWS_SECRET_ACCESS_KEY), then O(profile) or E(AWS_PROFILE), then the shared credentials and config
        files, then container or instance role credentials.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key, given together with O(access_key).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS session token, for temporary credentials, given together with O(access_key) and O(secret_key).
    type: str
    aliases: [aws_session_token, security_token]
  profile:
    description:
      - A named profile of the AWS shared config and credentials files.
      - When not set, E(AWS_PROFILE) is used by boto3.
    type: str
    aliases: [aws_profile]
  region:
    description:
      - The AWS region of the API to call, for example V(eu-west-1).
      - When not set, E(AWS_REGION), then E(AWS_DEFAULT_REGION), then the region of the profile are used.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - Send API calls to this URL instead of the public AWS endpoint of the region, for a VPC endpoint
        or a local implementation of the API such as moto.
      - When not set, boto3 also honours E(AWS_ENDPOINT_URL).
    type: str
    aliases: [aws_endpoint_url]
  aws_timeout:
    description:
      - The most seconds all AWS API calls of the task may take together, every page, retry and backoff
        included; a task ends within this time plus at most one connect timeout, whatever the endpoint sends.
      - Running past it fails the task with C(reason=aws_timeout). Waiting for a change to apply
        (C(wait_timeout), in a module that waits) comes on top.
      - A number from V(1) to V(86400).
    type: float
    default: 300
    version_added: 1.0.0
notes:
  - Every AWS answer is untrusted input. One answer may hold at most 16 MiB (larger ones are refused before
    they are parsed, C(reason=bad_response)); a paginated read stops after 200 pages or at a page token
    seen twice (C(reason=bad_response)).
  - API calls time out after 10 seconds to connect and 30 seconds to read. A call that fails with a
    transient error or is throttled (for example C(RequestLimitExceeded)) is tried up to 5 times with
    jittered exponential backoff (botocore's standard retry mode); throttling that persists fails the task
    with C(reason=throttled) and the advice to run fewer hosts at a time.
requirements:
  - boto3
  - botocore
"""
