#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: probe
short_description: Diagnose the EC2 Instance Metadata Service from the host that uses it
version_added: 1.0.0
description:
  - Sends a few requests to IMDS and reports what works and what does not, each finding with its fix, both as an
    M(ec2meta.imds.metadata_options) task and as an AWS CLI command.
  - Checks that IMDS is reachable and how fast it answers, that the endpoint is enabled, that IMDSv2 tokens work,
    that token responses reach the host (a too-low hop limit drops them, typical inside containers), whether
    IMDSv1 is still allowed, whether IMDS throttles, whether instance tags are in metadata, whether a role is
    attached, and whether the IPv6 endpoint answers.
  - Never fails because of what it finds, unless O(require) says a finding must be met.
author:
  - ec2meta.imds maintainers (@ec2meta)
extends_documentation_fragment:
  # Order matters: on a clash the fragment listed first wins.
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.client
  - ec2meta.imds.action_group
options:
  check_imdsv1:
    description:
      - Send one request without a token (C(GET /latest/meta-data/instance-id)) to learn whether IMDSv1 is still
        allowed.
      - That request counts in the instance's C(MetadataNoToken) CloudWatch metric. Set V(false) where that metric
        is used to find software still using IMDSv1; RV(v1_allowed) is then null.
    type: bool
    default: true
  check_ipv6:
    description:
      - Also check whether the IPv6 endpoint answers, within one O(timeout).
      - Without O(ipv6_endpoint), that is IMDS's IPv6 address C(http://[fd00:ec2::254]), but only when the probe
        uses IMDS's default IPv4 address. When O(endpoint), O(endpoint_mode) or E(AWS_EC2_METADATA_SERVICE_ENDPOINT)
        points elsewhere, the probe contacts nothing else and the V(ipv6_reachable) finding says why it did not run.
    type: bool
    default: true
  ipv6_endpoint:
    description:
      - The IPv6 endpoint to check with O(check_ipv6=true), for example V(http://[fd00:ec2::254]).
      - Defaults to IMDS's IPv6 address when the probe uses IMDS's default IPv4 address; see O(check_ipv6).
    type: str
  require:
    description:
      - Findings that must be met; the module fails naming each unmet one, its cause and its fixes.
      - A finding that could not be checked (for example V(tags_enabled) when IMDS is unreachable) is unmet.
      - V(v1_disabled) needs O(check_imdsv1=true); V(ipv6_reachable) needs O(check_ipv6=true).
    type: list
    elements: str
    default: []
    choices:
      - reachable
      - endpoint_enabled
      - tokens_work
      - hop_limit_ok
      - v1_disabled
      - not_throttled
      - tags_enabled
      - role_attached
      - ipv6_reachable
notes:
  - The probe makes its own requests rather than using the client's fallback and retry logic, so that it can tell
    a refused request from a dropped one. The O(allow_imdsv1) option does not apply to it.
  - A black-holed token request costs at most O(timeout); all IPv4 checks together at most O(total_timeout), and
    the IPv6 check at most one more O(timeout).
seealso:
  - module: ec2meta.imds.metadata_options
    description: Apply the fixes the probe suggests.
  - module: ec2meta.imds.role_credentials_info
    description: Check the attached role and its credentials in depth.
  - name: Configure the instance metadata options
    description: AWS documentation of the options the fixes change.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
"""

EXAMPLES = r"""
---
- name: Diagnose IMDS and show what is wrong
  ec2meta.imds.probe:
  register: imds

- name: Show each problem and its fix
  ansible.builtin.debug:
    msg: "{{ item.message }} Fix: {{ item.fix.aws_cli | default('-') }}"
  loop: "{{ imds.findings | selectattr('ok', 'false') }}"
  loop_control:
    label: "{{ item.name }}"

- name: Fail the hardening play while IMDSv1 is still allowed or tokens do not work
  ec2meta.imds.probe:
    require: [tokens_work, v1_disabled]
    check_ipv6: false

- name: Probe without touching the MetadataNoToken metric
  ec2meta.imds.probe:
    check_imdsv1: false
    check_ipv6: false
"""

RETURN = r"""
endpoint:
  description: The endpoint probed.
  returned: always
  type: str
  sample: http://169.254.169.254
reachable:
  description: Whether anything answered at RV(endpoint).
  returned: always
  type: bool
  sample: true
latency_ms:
  description: Median round trip of the answered requests, in milliseconds; null when none was answered.
  returned: always
  type: float
  sample: 0.8
endpoint_disabled:
  description: Whether IMDS answers 403 to everything (C(http_endpoint=disabled)).
  returned: always
  type: bool
  sample: false
tokens_work:
  description: Whether the IMDSv2 token request succeeded.
  returned: always
  type: bool
  sample: true
token_status:
  description: HTTP status of the token request; null when it got no answer.
  returned: always
  type: int
  sample: 200
token_put_timed_out:
  description: Whether the token request got no answer in time.
  returned: always
  type: bool
  sample: false
v1_allowed:
  description: Whether a request without a token was answered; null when not checked or unanswered.
  returned: always
  type: bool
  sample: false
hop_limit_suspected:
  description: Whether the token request timed out while IMDS answers otherwise (a too-low hop limit).
  returned: always
  type: bool
  sample: false
throttled:
  description: Whether IMDS answered any request with 429.
  returned: always
  type: bool
  sample: false
tags_enabled:
  description: Whether instance tags are in metadata; null when metadata could not be read.
  returned: always
  type: bool
  sample: true
role_attached:
  description: Whether an instance profile is attached; null when metadata could not be read.
  returned: always
  type: bool
  sample: true
instance_profile_arn:
  description: ARN of the attached instance profile.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:instance-profile/web-server-profile
instance_id:
  description: The instance ID, when it could be read.
  returned: always
  type: str
  sample: i-0a1b2c3d4e5f60718
ipv6_endpoint:
  description: The IPv6 endpoint checked; null with O(check_ipv6=false).
  returned: always
  type: str
  sample: http://[fd00:ec2::254]
ipv6_reachable:
  description: Whether the IPv6 endpoint answered; null when not checked.
  returned: always
  type: bool
  sample: false
ipv6_not_checked:
  description: Why the IPv6 endpoint was not checked; null when it was.
  returned: always
  type: str
  sample: check_ipv6=false
disabled_by_environment:
  description:
    - Set where E(AWS_EC2_METADATA_DISABLED=true) turned IMDS use off on the host; the probe then sends nothing and
      the V(reachable) finding is unmet.
  returned: always
  type: str
  sample: null
requests:
  description: How many requests the probe sent.
  returned: always
  type: int
  sample: 5
problems:
  description: Names of the findings that are not met.
  returned: always
  type: list
  elements: str
  sample: [v1_disabled]
findings:
  description: One entry per check, in the order of O(require)'s choices.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The finding, as named in O(require).
      type: str
      sample: v1_disabled
    ok:
      description: True when met, false when not, null when it could not be checked.
      type: bool
      sample: false
    severity:
      description: V(ok), V(info), V(warning) or V(error).
      type: str
      sample: warning
    message:
      description: What was found and why it matters.
      type: str
      sample: "IMDSv1 is allowed: requests without a token are answered, ..."
    fix:
      description: How to fix it, when there is a fix.
      type: dict
      returned: when the finding is not met and has a fix
      contains:
        ansible:
          description: The task that fixes it.
          type: str
          sample: "ec2meta.imds.metadata_options: {instance_id: i-0a1b2c3d4e5f60718, http_tokens: required}"
        aws_cli:
          description: The AWS CLI command that fixes it.
          type: str
          sample: aws ec2 modify-instance-metadata-options --instance-id i-0a1b2c3d4e5f60718 --http-tokens required
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.findings import FINDINGS, unmet_message  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.run import run_probe  # noqa: E402


def main() -> None:
    module = ImdsModule(
        {
            "check_imdsv1": {"type": "bool", "default": True},
            "check_ipv6": {"type": "bool", "default": True},
            "ipv6_endpoint": {"type": "str"},
            "require": {"type": "list", "elements": "str", "default": [], "choices": list(FINDINGS)},
        },
        imds=True,
        requires=["requests"],
    )
    with module.failures_reported():
        report, required = run_probe(module.params)
    result = {"changed": False, **report.as_dict()}
    unmet = report.unmet(required)
    if unmet:
        module.fail_json(msg=unmet_message(unmet), reason="requirement_unmet", unmet=[f.name for f in unmet], **result)
    module.exit(**result)


if __name__ == "__main__":
    main()
