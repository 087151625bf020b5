#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_credentials_info
short_description: Check the IAM role attached to an EC2 instance and the credentials IMDS serves for it
version_added: 1.0.0
description:
  - Reads C(iam/info) (the instance profile), C(iam/security-credentials/) (the role) and the role's credential
    document from the Instance Metadata Service, and checks them against what the play expects.
  - Fails with a message naming the cause and the fix when no role is attached, the role or instance profile is
    not the expected one, the credentials are expired or expire within O(min_remaining), IMDS reports a C(Code)
    other than V(Success), or the credential document is malformed.
  - With O(verify_sts=true), calls STS C(GetCallerIdentity) with the role's own credentials and checks that STS
    accepts them and answers C(arn:<partition>:sts::<account>:assumed-role/<role>/<instance id>).
  - The access key, secret key and session token are never returned unless O(return_credentials=true).
author:
  - ec2meta.imds maintainers (@ec2meta)
extends_documentation_fragment:
  # Order matters: on a clash the fragment listed first wins.
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.client
  - ec2meta.imds.action_group
options:
  expected_role:
    description:
      - Name of the IAM role the instance must have; fails naming the role found otherwise.
    type: str
  expected_instance_profile:
    description:
      - The instance profile the instance must have, as an ARN (compared exactly) or a name (compared with the
        last part of the profile ARN).
    type: str
  min_remaining:
    description:
      - Seconds the credentials must stay valid; fails when they expire sooner.
      - Expired credentials always fail. EC2 makes new credentials available at least five minutes before the
        old ones expire, so more than V(300) can fail on a healthy instance shortly before rotation.
    type: int
    default: 0
  verify_sts:
    description:
      - Call STS C(GetCallerIdentity) with the role's credentials (not with the controller's or the standard
        credential chain) and check the returned ARN is this instance's session of the role.
      - Needs boto3 and network access to STS (or an STS interface VPC endpoint, see O(sts_endpoint_url)).
    type: bool
    default: false
  sts_endpoint_url:
    description:
      - STS endpoint URL to use with O(verify_sts), for an STS interface VPC endpoint or a test implementation.
      - When not set, the regional STS endpoint of O(sts_region) is used.
    type: str
  sts_region:
    description:
      - Region of the STS endpoint used by O(verify_sts).
      - When not set, the instance's own region (C(meta-data/placement/region)) is used.
    type: str
  return_credentials:
    description:
      - Also return the credentials in RV(credentials), to register them for a later task.
      - When set, the whole result of the task is hidden from the output as with C(no_log), but the registered
        variable holds the values. Never set it only to look at them.
    type: bool
    default: false
notes:
  - Secrets read from IMDS are masked from any output of the module, including failure messages.
  - Every C(expected_*) option that is set must hold a value. An empty or blank one (often an undefined or empty
    variable) fails with C(reason=invalid_option) before anything is read, instead of turning its check off.
seealso:
  - module: ec2meta.imds.probe
    description: Diagnose the Instance Metadata Service itself (tokens, IMDSv1, hop limit, tags, IPv6).
  - module: ec2meta.imds.metadata_options
    description: Change the instance's metadata options.
  - name: Instance profiles
    description: Retrieve security credentials from instance metadata (AWS documentation).
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
requirements:
  - boto3 (only for O(verify_sts))
"""

EXAMPLES = r"""
---
- name: Fail the deploy unless the web role is attached and its credentials last another 15 minutes
  ec2meta.imds.role_credentials_info:
    expected_role: web-server-role
    expected_instance_profile: web-server-profile
    min_remaining: 900

- name: Check that STS accepts the role's credentials, through an STS interface VPC endpoint
  ec2meta.imds.role_credentials_info:
    expected_role: web-server-role
    verify_sts: true
    sts_endpoint_url: https://vpce-0a1b2c3d4e5f60718-abcdefgh.sts.eu-west-1.vpce.amazonaws.com
  register: role

- name: Show the identity
  ansible.builtin.debug:
    msg: "{{ role.sts_identity.arn }} valid for {{ role.seconds_remaining }}s"

- name: Register the credentials for a later task (the result of this task is hidden)
  ec2meta.imds.role_credentials_info:
    return_credentials: true
  register: role_creds

- name: Use them for an AWS call as the instance role
  amazon.aws.s3_object_info:
    bucket_name: my-bucket
    object_name: config.json
    access_key: "{{ role_creds.credentials.access_key_id }}"
    secret_key: "{{ role_creds.credentials.secret_access_key }}"
    session_token: "{{ role_creds.credentials.session_token }}"
  no_log: true
"""

RETURN = r"""
role_name:
  description: Name of the IAM role attached through the instance profile.
  returned: success
  type: str
  sample: web-server-role
instance_profile_arn:
  description: ARN of the instance profile, from C(iam/info).
  returned: success
  type: str
  sample: arn:aws:iam::123456789012:instance-profile/web-server-profile
instance_profile_id:
  description: ID of the instance profile, from C(iam/info).
  returned: success
  type: str
  sample: AIPAXAMPLEPROFILE0001
instance_profile_name:
  description: Name of the instance profile (the last part of its ARN).
  returned: success
  type: str
  sample: web-server-profile
instance_id:
  description: The instance ID, the session name STS shows for the role's credentials.
  returned: success
  type: str
  sample: i-0a1b2c3d4e5f60718
code:
  description: C(Code) of the credential document.
  returned: success
  type: str
  sample: Success
type:
  description: C(Type) of the credential document.
  returned: success
  type: str
  sample: AWS-HMAC
last_updated:
  description: When IMDS last refreshed the credentials (C(LastUpdated)).
  returned: success
  type: str
  sample: "2026-11-23T09:30:18Z"
expiration:
  description: When the credentials expire (C(Expiration)).
  returned: success
  type: str
  sample: "2026-11-23T15:30:18Z"
seconds_remaining:
  description: Seconds until RV(expiration), by the managed node's clock.
  returned: success
  type: int
  sample: 21594
imds_version:
  description: 2 when an IMDSv2 token was used, 1 when the client fell back to IMDSv1.
  returned: success
  type: int
  sample: 2
sts_identity:
  description: What STS C(GetCallerIdentity) answered for the role's credentials.
  returned: when O(verify_sts=true)
  type: dict
  contains:
    account:
      description: The AWS account ID.
      type: str
      sample: "123456789012"
    arn:
      description: The assumed-role session ARN.
      type: str
      sample: arn:aws:sts::123456789012:assumed-role/web-server-role/i-0a1b2c3d4e5f60718
    user_id:
      description: The role ID and session name.
      type: str
      sample: AROAEXAMPLEROLEID0001:i-0a1b2c3d4e5f60718
credentials:
  description:
    - The role's credentials. The task's whole result is hidden from output when they are returned.
  returned: when O(return_credentials=true)
  type: dict
  contains:
    access_key_id:
      description: The access key ID.
      type: str
      sample: ASIAEXAMPLEEXAMPLE00
    secret_access_key:
      description: The secret access key.
      type: str
      sample: "<secret>"
    session_token:
      description: The session token.
      type: str
      sample: "<secret>"
    expiration:
      description: When they expire.
      type: str
      sample: "2026-11-23T15:30:18Z"
reason:
  description: On failure, which check failed.
  returned: failure
  type: str
  sample: wrong_role
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import read_role  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_data  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def main() -> None:
    module = ImdsModule(
        {
            "expected_role": {"type": "str"},
            "expected_instance_profile": {"type": "str"},
            "min_remaining": {"type": "int", "default": 0},
            "verify_sts": {"type": "bool", "default": False},
            "sts_endpoint_url": {"type": "str"},
            "sts_region": {"type": "str"},
            "return_credentials": {"type": "bool", "default": False, "no_log": False},
        },
        imds=True,
    )
    params = module.params
    if params["verify_sts"]:
        module.require("boto3")
    # Every secret read is masked in whatever the module prints, failures included (a failed role check adds what
    # it found so far, see RoleCheckFailed.details); only an explicit return_credentials result leaves them in
    # place (its action plugin then hides the whole task result).
    secrets: set = set()
    client = module.imds_client()
    with module.failures_reported(secrets), client:
        report, credentials = read_role(
            client,
            expected_role=params["expected_role"],
            expected_instance_profile=params["expected_instance_profile"],
            min_remaining=params["min_remaining"],
            on_secrets=secrets.update,
        )
        if params["verify_sts"]:
            # Imported here: boto3 costs a module process about 0.15 s, and only verify_sts needs it.
            from ansible_collections.ec2meta.imds.plugins.module_utils._aws.sts import verify_sts_identity

            verify_sts_identity(client, report, credentials, params["sts_region"], params["sts_endpoint_url"])
    # The report is masked in every form and in dict keys; only the explicit credentials keep their values.
    result = {"changed": False, **mask_data(report.as_dict(), secrets)}
    if params["return_credentials"]:
        result["credentials"] = credentials.secret_dict()
    else:
        module.add_secrets(secrets)
    module.exit(**result)


if __name__ == "__main__":
    main()
