#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance_metadata_defaults
short_description: Read and set the account's regional IMDS defaults, and IMDSv2 enforcement at launch
version_added: 1.0.0
description:
  - Reads the account's instance metadata defaults of one or more regions (C(GetInstanceMetadataDefaults)) and
    sets the options given (C(ModifyInstanceMetadataDefaults)). Options left unset are not changed.
  - The defaults apply to instances launched afterwards. B(Existing instances are not changed by them);
    use M(ec2meta.imds.metadata_options) for those.
  - A value given at launch (in the request or its launch template) wins over the default; the default wins over
    an AMI's C(ImdsSupport); see the precedence table in the collection's IMDSv2 campaign guide.
  - Where an organization's declarative policy manages a region's defaults (C(ManagedBy=declarative-policy)),
    the module changes nothing there, reports the policy's C(ManagedExceptionMessage), and warns if it would
    have changed something.
  - Turning on O(http_tokens_enforced) makes EC2 refuse every launch that would allow IMDSv1. The module does it
    only after it has checked that the region is ready, failing closed with C(reason=enforcement_not_ready)
    otherwise; see O(allow_refused_launches).
  - Every region is read and decided on before anything is sent, so a refusal in one region changes no region.
  - A change counts only when EC2 answers it with C(Return=true); any other answer fails with
    C(reason=not_changed) and C(regions_not_changed).
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  regions:
    description:
      - The regions to read or change. Each must be a region this botocore knows.
      - When not set, the one region of O(region) (or the environment or profile).
    type: list
    elements: str
  http_tokens:
    description:
      - The default for C(HttpTokens). V(required) makes instances launched without an explicit value require
        IMDSv2. V(no-preference) removes the account's default.
    type: str
    choices: [optional, required, no-preference]
  http_put_response_hop_limit:
    description:
      - The default hop limit for the token PUT response, from V(1) to V(64); V(-1) removes the account's default.
    type: int
  http_endpoint:
    description:
      - The default state of the metadata endpoint; V(no-preference) removes the account's default.
    type: str
    choices: [enabled, disabled, no-preference]
  instance_metadata_tags:
    description:
      - Whether instance tags are in the metadata by default; V(no-preference) removes the account's default.
    type: str
    choices: [enabled, disabled, no-preference]
  http_tokens_enforced:
    description:
      - V(enabled) makes EC2 refuse to launch an instance whose C(HttpTokens) would be V(optional).
      - Before turning it on, the module audits the region and refuses (C(reason=enforcement_not_ready)) unless
        every instance that is not terminated requires tokens, with no IMDSv1 use and no unknown verdict
        (M(ec2meta.imds.metadata_options_info)), and every launch template (default, latest and the versions
        groups and fleets use), Auto Scaling group, launch configuration, EC2 Fleet and Spot Fleet request that
        still launches resolves to C(http_tokens=required). Anything that cannot be read completely counts as not
        ready. A fleet that launches nothing more (type V(instant), a fulfilled V(request) fleet, one that is
        deleted or cancelled) does not count.
      - The launch paths are judged with the defaults B(as the task leaves them), every option it sets;
        O(http_tokens=required) with O(http_tokens_enforced=enabled) in one task is accepted when nothing else
        allows IMDSv1, because the paths that set no C(HttpTokens) then get V(required).
      - While enforcement is on after the task, lowering the default O(http_tokens) (to V(optional), or from
        V(required) to V(no-preference)) is refused with C(reason=http_tokens_lowered_under_enforcement), as every
        launch that relies on the default, the ones the audit cannot see included, would be refused. So is turning
        enforcement on while the default O(http_tokens) is V(optional) already and the task does not change it.
    type: str
    choices: [enabled, disabled, no-preference]
  allow_refused_launches:
    description:
      - Turn on O(http_tokens_enforced) without the readiness check, or lower O(http_tokens) under enforcement,
        accepting that launches which would allow IMDSv1 (an Auto Scaling group scaling out from an C(optional)
        template, a CI job's RunInstances) are refused from then on.
    type: bool
    default: false
  imdsv1_usage_window:
    description:
      - Days of CloudWatch IMDSv1 use the readiness check reads, from 1 to 455.
    type: int
    default: 14
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: Reads, checks readiness, and reports what it would change; sends no change.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(ec2:GetInstanceMetadataDefaults), and C(ec2:ModifyInstanceMetadataDefaults) to change
    something. The readiness check of O(http_tokens_enforced) also needs C(ec2:DescribeInstances),
    C(cloudwatch:GetMetricData), C(ec2:DescribeLaunchTemplates), C(ec2:DescribeLaunchTemplateVersions),
    C(ec2:DescribeImages), C(ec2:DescribeFleets), C(ec2:DescribeSpotFleetRequests),
    C(autoscaling:DescribeAutoScalingGroups) and C(autoscaling:DescribeLaunchConfigurations).
  - AWS recommends this order. Make the software ready for IMDSv2, require tokens on the instances and on every
    launch path, then enforce at the account level. The playbook C(ec2meta.imds.imdsv2_campaign) walks it.
seealso:
  - module: ec2meta.imds.metadata_options_info
    description: Audits instances and launch paths; the readiness check uses the same audit.
  - module: ec2meta.imds.metadata_options
    description: Changes the options of existing instances.
  - name: Order of precedence for instance metadata options
    description: How EC2 combines launch parameters, account defaults and the AMI.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html#instance-metadata-options-order-of-precedence
"""

EXAMPLES = r"""
---
- name: Read the defaults of two regions
  ec2meta.imds.instance_metadata_defaults:
    regions: [eu-west-1, us-east-1]
  register: defaults
  delegate_to: localhost
  run_once: true

- name: New instances require IMDSv2 unless their launch says otherwise
  ec2meta.imds.instance_metadata_defaults:
    regions: [eu-west-1]
    http_tokens: required
    http_put_response_hop_limit: 2
  delegate_to: localhost
  run_once: true

- name: Enforce IMDSv2 at launch once the region is ready (refused otherwise)
  ec2meta.imds.instance_metadata_defaults:
    region: eu-west-1
    http_tokens_enforced: enabled
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
regions:
  description: One entry per region, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    region:
      description: The region.
      type: str
      returned: success
      sample: eu-west-1
    changed:
      description: Whether the task changed (or in check mode would change) this region's defaults.
      type: bool
      returned: success
      sample: true
    before:
      description: The defaults before the task; null where the account has no preference.
      type: dict
      returned: success
      sample: {"http_tokens": null, "http_put_response_hop_limit": null, "http_endpoint": null,
               "instance_metadata_tags": null, "http_tokens_enforced": null}
    after:
      description: The defaults after the task (in check mode, what they would be).
      type: dict
      returned: success
      sample: {"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": null,
               "instance_metadata_tags": null, "http_tokens_enforced": null}
    changes:
      description: The values sent (or that would be sent), in the module's option names.
      type: dict
      returned: success
      sample: {"http_tokens": "required", "http_put_response_hop_limit": 2}
    managed_by:
      description: V(account), or V(declarative-policy) when an organization's policy owns the defaults.
      type: str
      returned: success
      sample: account
    managed_exception_message:
      description: The declarative policy's message, null when none.
      type: str
      returned: success
      sample: null
    readiness:
      description:
        - The readiness check, when O(http_tokens_enforced=enabled) was to be turned on; null otherwise.
      type: dict
      returned: success
      contains:
        ready:
          description: Whether nothing in the region allows IMDSv1 or is unknown.
          type: bool
          returned: success
          sample: true
        blockers:
          description:
            - What still allows IMDSv1 or could not be checked, each with C(kind) (V(instance), V(launch_template),
              V(auto_scaling_group), V(launch_configuration), V(ec2_fleet), V(spot_fleet_request)), C(id),
              C(name), C(verdict) and C(why).
          type: list
          elements: dict
          returned: success
          sample: [{"kind": "ec2_fleet", "id": "fleet-0123abcd-0123-abcd-0123-0123456789ab", "name": "batch",
                    "verdict": "allows_imdsv1", "why": "verdict allows_imdsv1"}]
        account_defaults:
          description: The account defaults the launch paths were judged with, those the task leaves.
          type: dict
          returned: success
          sample: {"http_tokens": "required", "http_put_response_hop_limit": null, "http_endpoint": null,
                   "instance_metadata_tags": null, "http_tokens_enforced": "enabled"}
        not_audited:
          description: What the audit cannot see, as RV(ec2meta.imds.metadata_options_info#module:not_audited).
          type: dict
          returned: success
          sample: {"launch_paths": ["..."], "covered_by": "...", "coverage": "none"}
regions_refused:
  description: On C(reason=enforcement_not_ready) or C(reason=http_tokens_lowered_under_enforcement) in more than
    one region, the regions refused (and C(readiness) is keyed by region). Nothing was sent to any region.
  returned: failure
  type: list
  elements: str
  sample: [eu-west-1, us-east-1]
regions_changed:
  description: On an API failure while changing, the regions changed before it.
  returned: failure
  type: list
  elements: str
  sample: [eu-west-1]
regions_not_changed:
  description: On an API failure while changing, the regions not changed.
  returned: failure
  type: list
  elements: str
  sample: [us-east-1]
api_calls:
  description: Calls made per IAM action.
  returned: success
  type: dict
  sample: {"ec2:GetInstanceMetadataDefaults": 2, "ec2:ModifyInstanceMetadataDefaults": 1}
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import (  # noqa: E402
    check_regions,
    validate_wanted,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults_rollout import (  # noqa: E402
    apply_regions,
    plan_regions,
    rollout_result,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (  # noqa: E402
    DEFAULT_WINDOW_DAYS,
    check_window,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402

DEFAULT_CHOICES = ["enabled", "disabled", "no-preference"]


def argument_spec() -> dict:
    return {
        "regions": {"type": "list", "elements": "str"},
        "http_tokens": {"type": "str", "choices": ["optional", "required", "no-preference"]},
        "http_put_response_hop_limit": {"type": "int"},
        "http_endpoint": {"type": "str", "choices": DEFAULT_CHOICES},
        "instance_metadata_tags": {"type": "str", "choices": DEFAULT_CHOICES},
        "http_tokens_enforced": {"type": "str", "choices": DEFAULT_CHOICES},
        "allow_refused_launches": {"type": "bool", "default": False},
        "imdsv1_usage_window": {"type": "int", "default": DEFAULT_WINDOW_DAYS},
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    with module.failures_reported():
        wanted = validate_wanted(params)
        check_window(params["imdsv1_usage_window"])
        regions = check_regions(params["regions"] or [module.session_region()])
        outcomes = plan_regions(
            module.aws_client,
            module.budget,
            regions,
            wanted,
            window_days=params["imdsv1_usage_window"],
            allow_refused_launches=params["allow_refused_launches"],
        )
        if not module.check_mode:
            apply_regions(module.aws_client, module.budget, outcomes)
    for outcome in outcomes:
        for warning in outcome.warnings:
            module.warn(warning)
    module.exit(**rollout_result(outcomes, check_mode=module.check_mode, diff=module.diff))


if __name__ == "__main__":
    main()
