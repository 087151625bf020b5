#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: metadata_options
short_description: Enforce the instance metadata options of an EC2 instance through the EC2 API
version_added: 1.0.0
description:
  - Reads an instance's metadata options with DescribeInstances and changes, with
    ModifyInstanceMetadataOptions, only those that differ from the requested ones; options left unset
    are not changed.
  - The idempotent form of C(aws ec2 modify-instance-metadata-options), for example to require IMDSv2
    with O(http_tokens=required).
  - On the instance itself, O(instance_id) and O(region) default to the values in the instance identity
    document of IMDS. Give both when the task runs on a controller (delegated to C(localhost)).
  - On a change the whole options block is sent, the current values merged with the requested ones (a member
    left out would fall back to a default, not to its current value). Afterwards, and on every poll of
    O(wait), the task checks that every option it asked for still holds. When another change made at the same
    time overwrote one, it fails with C(reason=options_overwritten), naming the option, the value wanted and
    the value found.
  - With O(instance_ids) or O(filters), one task enforces the options of many instances of a region;
    one paged DescribeInstances reads them, the IMDSv1 guard reads CloudWatch for all of them in batched
    GetMetricData calls (500 queries a call) and decides for each exactly as for one, and the changes are sent
    concurrently (O(max_concurrency)) under a client-side rate limiter that keeps to EC2's request bucket for
    ModifyInstanceMetadataOptions (O(modify_burst), O(modify_rate)), slowing down and retrying on
    C(RequestLimitExceeded). The result lists every instance (RV(instances)) with its status, and a RV(summary). The
    task fails with C(reason=instances_not_changed) when any instance was refused or failed, after changing all
    the others; run it again to pick up the rest.
  - Before a change from O(http_tokens=optional) to O(http_tokens=required), it reads the instance's IMDSv1
    use from CloudWatch (the C(MetadataNoToken) metric) over O(imdsv1_usage_window) days and, by default,
    refuses the change while anything still calls IMDS without a token; see O(imdsv1_usage_check). This also
    runs in check mode, so C(--check) tells which hosts would be refused.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  instance_id:
    description:
      - The ID of the instance, for example V(i-0123456789abcdef0).
      - An empty string is refused; it is not the same as leaving the option out.
      - When not set, it is read from IMDS (C(dynamic/instance-identity/document)) with the IMDS client
        options O(endpoint), O(timeout) and so on, and O(region) defaults to the instance's region too.
    type: str
  instance_ids:
    description:
      - The IDs of many instances of one region, changed in one task (see the description). Cannot be combined with
        O(instance_id). IDs EC2 does not know in O(region), and terminated instances, are reported as failed with
        C(reason=instance_not_found).
      - With O(filters) too, only the instances that also match the filters; O(filters) may not hold C(instance-id)
        then (list the IDs here). Instances the DescribeInstances answer adds to the IDs asked for are never changed.
    type: list
    elements: str
    version_added: 1.1.0
  filters:
    description:
      - Select the instances by EC2 filters (DescribeInstances' filter names, like C(tag:Env) or
        C(instance-state-name)), a value or a list of values each. Cannot be combined with O(instance_id).
      - Terminated instances are never selected.
    type: dict
    version_added: 1.1.0
  modify_rate:
    description:
      - With O(instance_ids) or O(filters), how many ModifyInstanceMetadataOptions requests a second to send once
        the first O(modify_burst) are sent. EC2 refills its bucket for this (mutating) action at 5 requests a second
        per account and region (AWS, I(Request throttling for the Amazon EC2 API)). Set it to the account's raised
        limit, or lower when other tools change instances at the same time.
      - On C(RequestLimitExceeded) the task halves its rate (once for the requests already under way), retries the
        instance, and speeds up again as requests go through.
      - The time the rate needs for the changes comes on top of O(aws_timeout); when that time runs out (for
        instance because other tools keep the account's bucket empty), the instances not yet changed fail with
        C(reason=throttled) (C(aws_timeout) without throttling) and the message says they were not attempted.
      - At least 0.1.
    type: float
    default: 5
    version_added: 1.1.0
  modify_burst:
    description:
      - With O(instance_ids) or O(filters), how many ModifyInstanceMetadataOptions requests may go at once before
        O(modify_rate) sets the pace; the size of EC2's bucket for the action, 50, unless the account's was raised.
    type: int
    default: 50
    version_added: 1.1.0
  max_concurrency:
    description:
      - With O(instance_ids) or O(filters), how many ModifyInstanceMetadataOptions requests may be under way at
        once, from 1 to 10. The rate limiter, not this, sets the pace.
    type: int
    default: 8
    version_added: 1.1.0
  region:
    description:
      - The AWS region of the instance.
      - When O(instance_id) is not set, the region of the instance from IMDS.
      - When O(instance_id) is set, E(AWS_REGION), then E(AWS_DEFAULT_REGION), then the region of the
        profile; IMDS is not asked.
    type: str
    aliases: [aws_region]
  http_tokens:
    description:
      - V(required) allows only IMDSv2 (requests with a session token); V(optional) also allows IMDSv1.
    type: str
    choices: [required, optional]
  http_put_response_hop_limit:
    description:
      - How many network hops the answer to the IMDSv2 token request may travel, from 1 to 64.
      - Use V(2) or more when containers on the instance must reach IMDSv2 through a bridge network.
      - Checked before any API call.
    type: int
  http_endpoint:
    description:
      - V(disabled) turns the instance's metadata endpoint off; every request then gets 403.
    type: str
    choices: [enabled, disabled]
  http_protocol_ipv6:
    description:
      - Whether IMDS also answers on its IPv6 address C(fd00:ec2::254) (Nitro instances).
    type: str
    choices: [enabled, disabled]
  instance_metadata_tags:
    description:
      - Whether the instance's tags are readable under C(meta-data/tags/instance).
    type: str
    choices: [enabled, disabled]
  wait:
    description:
      - Wait until DescribeInstances reports the options as applied (C(MetadataOptions.State=applied)).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds O(wait) waits before the task fails.
      - When the change was sent but not applied in time, the failure reports C(changed=true).
    type: int
    default: 300
  imdsv1_usage_check:
    description:
      - What to do, before requiring tokens on an instance where they are optional, about IMDSv1 calls that
        CloudWatch counted (C(MetadataNoToken)) in the last O(imdsv1_usage_window) days.
      - The read finds one of V(in_use) (IMDSv1 calls were counted), V(not_in_use) (only a complete,
        well-formed answer of zeros, with no hour missing that the witness metric C(StatusCheckFailed) has),
        V(unknown) (anything else, such as CloudWatch refused or timed out, an incomplete or malformed answer,
        hours with
        no datapoint), or V(too_recent) (the instance was launched or started less than an hour and a quarter
        ago and CloudWatch has nothing for it yet). The check never takes "could not read" for "not in use".
      - V(fail) refuses the change on V(in_use) (C(reason=imdsv1_in_use), with the count and the time last seen)
        and on V(unknown) (C(reason=imdsv1_usage_unknown), with the cause); nothing is modified. On V(too_recent)
        it requires tokens and warns that nothing could be checked (provisioning enforces right after launch).
      - V(warn) requires tokens on V(in_use), V(unknown) and V(too_recent) too, and warns with what was found.
      - V(skip) does not read the metrics.
    type: str
    choices: [fail, warn, skip]
    default: fail
  imdsv1_usage_window:
    description:
      - How many days back O(imdsv1_usage_check) looks, from 1 to 455. Cover the longest schedule of anything
        that runs on the instance (a weekly job needs at least 7).
    type: int
    default: 14
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
  - ec2meta.imds.client
  - ec2meta.imds.action_group
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need the IAM permissions C(ec2:DescribeInstances) and C(ec2:ModifyInstanceMetadataOptions),
    and C(cloudwatch:GetMetricData) for O(imdsv1_usage_check) (not with V(skip)).
  - O(endpoint_url) applies to the EC2 and the CloudWatch calls.
  - The many-instance form (O(instance_ids), O(filters)) needs a region (O(region) or the environment's); with
    O(wait) it polls all the changed instances with one DescribeInstances round (200 IDs a call) per poll.
  - The IMDS client options are used only to discover O(instance_id) and O(region) on the instance itself.
seealso:
  - module: ec2meta.imds.metadata_facts
  - module: ec2meta.imds.metadata_options_info
    description: The audit of a fleet's IMDSv1 use, before requiring tokens.
  - name: Configure the instance metadata options
    description: The EC2 user guide on IMDS options.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
"""

EXAMPLES = r"""
---
- name: Require IMDSv2 on the instance the play runs on, unless IMDSv1 was used in the last 14 days
  ec2meta.imds.metadata_options:
    http_tokens: required
    wait: true

- name: Require IMDSv2 even though something still uses IMDSv1 (it will get 401), with a warning
  ec2meta.imds.metadata_options:
    instance_id: i-0123456789abcdef0
    region: eu-west-1
    http_tokens: required
    imdsv1_usage_check: warn
    imdsv1_usage_window: 30
  delegate_to: localhost

- name: Require IMDSv2 and let containers reach it, from the controller
  ec2meta.imds.metadata_options:
    instance_id: i-0123456789abcdef0
    region: eu-west-1
    http_tokens: required
    http_put_response_hop_limit: 2
  delegate_to: localhost

- name: Require IMDSv2 on every instance tagged Env=staging, at EC2's documented pace for the change
  ec2meta.imds.metadata_options:
    region: eu-west-1
    filters:
      "tag:Env": staging
      instance-state-name: [running, stopped]
    http_tokens: required
  delegate_to: localhost
  register: staging

- name: Require IMDSv2 on a list of instances, with an account limit raised to 20 changes a second
  ec2meta.imds.metadata_options:
    region: eu-west-1
    instance_ids: [i-0123456789abcdef0, i-0fedcba9876543210]
    http_tokens: required
    modify_rate: 20
    modify_burst: 100
  delegate_to: localhost

- name: Show what would change without changing it
  ec2meta.imds.metadata_options:
    instance_id: i-0123456789abcdef0
    region: eu-west-1
    http_tokens: required
    instance_metadata_tags: enabled
  check_mode: true
  diff: true
  delegate_to: localhost
"""

RETURN = r"""
instance_id:
  description: The instance whose options were enforced.
  returned: success, without O(instance_ids) and O(filters)
  type: str
  sample: i-0123456789abcdef0
region:
  description: The region of the instance's API calls.
  returned: success
  type: str
  sample: eu-west-1
instances:
  description:
    - With O(instance_ids) or O(filters), one entry per instance, also in the failure result.
  returned: with O(instance_ids) or O(filters)
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
      returned: always
      sample: i-0123456789abcdef0
    name:
      description: Its C(Name) tag, null when it has none.
      type: str
      returned: always
      sample: web-1
    region:
      description: Its region.
      type: str
      returned: always
      sample: eu-west-1
    status:
      description:
        - V(changed) (in check mode, would be), V(unchanged) (already had the options), V(refused) (the IMDSv1
          guard, see C(reason)), or V(failed) (see C(reason) and C(msg); C(changed) tells whether the change was
          sent before it failed).
      type: str
      returned: always
      sample: changed
    changed:
      description: Whether the task changed (in check mode, would change) the instance's options.
      type: bool
      returned: always
      sample: true
    failed:
      description: Whether the instance was refused or failed.
      type: bool
      returned: always
      sample: false
    reason:
      description: Why it was refused or failed, as the single-instance task's C(reason) (C(imdsv1_in_use),
        C(imdsv1_usage_unknown), C(throttled), C(options_overwritten), C(wait_timeout), C(instance_not_found), ...).
      type: str
      returned: always
      sample: null
    msg:
      description: The refusal or failure in words, with what to do; null otherwise.
      type: str
      returned: always
      sample: null
    warning:
      description: What the guard warned about when it switched anyway (O(imdsv1_usage_check=warn), too recent).
      type: str
      returned: always
      sample: null
    changes:
      description: The options that differ from the requested ones.
      type: dict
      returned: always
      sample: {"http_tokens": "required"}
    before:
      description: The options before the task.
      type: dict
      returned: always
      sample: {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled",
               "http_protocol_ipv6": "disabled", "instance_metadata_tags": "disabled"}
    after:
      description: The options the task set (or would set).
      type: dict
      returned: always
      sample: {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled",
               "http_protocol_ipv6": "disabled", "instance_metadata_tags": "disabled"}
    metadata_options:
      description: The options as last read (after the change and O(wait), with C(state)); in check mode the ones
        it would set, with a null C(state).
      type: dict
      returned: always
      sample: {"http_tokens": "required", "state": "applied"}
    imdsv1_usage:
      description: What the guard read, as RV(imdsv1_usage) for one instance; null when it did not read.
      type: dict
      returned: always
      sample: null
summary:
  description: With O(instance_ids) or O(filters), the count of instances per status, and the pace of the change.
  returned: with O(instance_ids) or O(filters)
  type: dict
  contains:
    selected:
      description: How many instances were selected (and IDs not found).
      type: int
      returned: always
      sample: 1000
    changed:
      description:
        - How many were changed (in check mode, would be), also those that failed after the change (for instance
          C(wait_timeout)); the entries of RV(instances) with C(changed=true).
        - A ModifyInstanceMetadataOptions call that failed after it was sent (a 5xx answer, a lost connection, a
          timeout) is read back with DescribeInstances, and counts as changed when the change was made.
      type: int
      returned: always
      sample: 990
    unchanged:
      description: How many already had the options.
      type: int
      returned: always
      sample: 0
    refused:
      description: How many the IMDSv1 guard refused.
      type: int
      returned: always
      sample: 10
    failed:
      description: How many failed.
      type: int
      returned: always
      sample: 0
    modify_calls_needed:
      description: How many ModifyInstanceMetadataOptions calls the change needs (in check mode, would need).
      type: int
      returned: always
      sample: 990
    seconds_the_bucket_needs:
      description: The least time those calls take at O(modify_rate) after O(modify_burst).
      type: float
      returned: always
      sample: 188.0
api_calls:
  description: With O(instance_ids) or O(filters), the requests sent per API action (Modify retries included).
  returned: with O(instance_ids) or O(filters)
  type: dict
  sample: {"ec2:DescribeInstances": 10, "cloudwatch:GetMetricData": 6, "ec2:ModifyInstanceMetadataOptions": 990}
rate_limiter:
  description: With O(instance_ids) or O(filters), what the rate limiter did.
  returned: with O(instance_ids) or O(filters)
  type: dict
  contains:
    rate:
      description: O(modify_rate).
      type: float
      returned: always
      sample: 5.0
    burst:
      description: O(modify_burst).
      type: int
      returned: always
      sample: 50
    final_rate:
      description: Its rate at the end (lower after C(RequestLimitExceeded)).
      type: float
      returned: always
      sample: 5.0
    throttled:
      description: How many requests EC2 answered with C(RequestLimitExceeded) (each was retried).
      type: int
      returned: always
      sample: 0
    measured_rate:
      description: The requests a second it let through after the burst; null with too few.
      type: float
      returned: always
      sample: 4.99
    seconds:
      description: From its first request to its last, the time the changes took at its pace.
      type: float
      returned: always
      sample: 170.2
metadata_options:
  description:
    - The instance's metadata options after the task; in check mode, the options it would set.
    - A member the API did not report is null.
  returned: success, without O(instance_ids) and O(filters)
  type: dict
  contains:
    http_tokens:
      description: V(required) (IMDSv2 only) or V(optional).
      type: str
      returned: success
      sample: required
    http_put_response_hop_limit:
      description: The hop limit of the token answer.
      type: int
      returned: success
      sample: 2
    http_endpoint:
      description: V(enabled) or V(disabled).
      type: str
      returned: success
      sample: enabled
    http_protocol_ipv6:
      description: V(enabled) or V(disabled).
      type: str
      returned: success
      sample: disabled
    instance_metadata_tags:
      description: V(enabled) or V(disabled).
      type: str
      returned: success
      sample: disabled
    state:
      description:
        - V(applied) once EC2 applied the options, V(pending) while it applies them.
        - In check mode, the state before the task when nothing would change, and null when something would
          (nothing was sent, so nothing is applied).
      type: str
      returned: success
      sample: applied
imdsv1_usage:
  description:
    - What O(imdsv1_usage_check) read from CloudWatch before requiring tokens; null when it did not read
      (no change of O(http_tokens) to V(required), or V(skip)).
    - Also in the failure result when the change was refused.
  returned: always, without O(instance_ids) and O(filters)
  type: dict
  contains:
    calls:
      description: The sum of C(MetadataNoToken), IMDSv1 calls IMDS answered.
      type: int
      returned: success
      sample: 12
    rejected:
      description: The sum of C(MetadataNoTokenRejected), IMDSv1 calls refused because tokens are required.
      type: int
      returned: success
      sample: 0
    last_seen:
      description: The start (UTC) of the hourly period that holds the last IMDSv1 call, null when none.
      type: str
      returned: success
      sample: "2026-11-20T15:00:00Z"
    last_rejected:
      description: The start (UTC) of the hourly period that holds the last refused IMDSv1 call, null when none.
      type: str
      returned: success
      sample: null
    window_days:
      description: How many days were read.
      type: float
      returned: success
      sample: 14
    since:
      description: The start of the window (UTC).
      type: str
      returned: success
      sample: "2026-11-09T15:32:00Z"
    datapoints:
      description: How many hourly datapoints of C(MetadataNoToken) CloudWatch had.
      type: int
      returned: success
      sample: 336
    witness_datapoints:
      description: How many hourly datapoints of the witness metric C(StatusCheckFailed) CloudWatch had. EC2
        publishes it
        for every running instance, so an hour it has and C(MetadataNoToken) lacks is unknown, not zero.
      type: int
      returned: success
      sample: 336
    calls_state:
      description: What the read found about IMDSv1 calls (C(MetadataNoToken)), one of V(in_use), V(not_in_use)
        (only for
        a complete, well-formed answer of zeros), V(unknown) (anything that could not be read completely; see
        C(calls_cause)), or V(too_recent) (the instance started, or the window opened, less than an hour and a
        quarter ago, so no hourly period has reached CloudWatch yet).
      type: str
      returned: success
      sample: not_in_use
    calls_cause:
      description: Why C(calls_state) is V(unknown) or V(too_recent), in words; null otherwise.
      type: str
      returned: success
      sample: null
    rejected_state:
      description: The same for refused calls (C(MetadataNoTokenRejected)).
      type: str
      returned: success
      sample: not_in_use
    rejected_cause:
      description: Why C(rejected_state) is V(unknown) or V(too_recent); null otherwise.
      type: str
      returned: success
      sample: null
diff:
  description:
    - The options before and after the task (with C(--diff)).
    - With O(instance_ids) or O(filters), keyed by instance ID, for the instances changed.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The options before the task.
      type: dict
      returned: when diff mode is on
      sample: {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled",
               "http_protocol_ipv6": "disabled", "instance_metadata_tags": "disabled"}
    after:
      description: The options after the task.
      type: dict
      returned: when diff mode is on
      sample: {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled",
               "http_protocol_ipv6": "disabled", "instance_metadata_tags": "disabled"}
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import region_missing  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (  # noqa: E402
    DEFAULT_WINDOW_DAYS,
    USAGE_CHECKS,
    check_window,
    guard_tokens_required,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import (  # noqa: E402
    CHOICES,
    apply_metadata_options,
    check_instance_id,
    plan_metadata_options,
    validate_requested,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options_batch import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    DEFAULT_MODIFY_BURST,
    DEFAULT_MODIFY_RATE,
    check_batch_options,
    enforce_many,
    not_changed_error,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import check_region_option  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.instance_discovery import discover_instance  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "instance_id": {"type": "str", "no_log": False},
        "http_tokens": {"type": "str", "choices": list(CHOICES["http_tokens"]), "no_log": False},
        "http_put_response_hop_limit": {"type": "int"},
        "http_endpoint": {"type": "str", "choices": list(CHOICES["http_endpoint"])},
        "http_protocol_ipv6": {"type": "str", "choices": list(CHOICES["http_protocol_ipv6"])},
        "instance_metadata_tags": {"type": "str", "choices": list(CHOICES["instance_metadata_tags"])},
        "wait": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 300},
        "imdsv1_usage_check": {"type": "str", "choices": list(USAGE_CHECKS), "default": "fail"},
        "imdsv1_usage_window": {"type": "int", "default": DEFAULT_WINDOW_DAYS},
        "instance_ids": {"type": "list", "elements": "str", "no_log": False},
        "filters": {"type": "dict"},
        "modify_rate": {"type": "float", "default": DEFAULT_MODIFY_RATE},
        "modify_burst": {"type": "int", "default": DEFAULT_MODIFY_BURST},
        "max_concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    }


def enforce_fleet(module: ImdsModule, wanted: dict) -> None:
    """The many-instance form: one region, every selected instance; fails after the others when any could not be
    changed."""
    params = module.params
    if not params["instance_ids"] and not params["filters"]:
        raise ImdsConfigError(
            "instance_ids is empty and filters is not set: give the instances to change (a list of IDs, or EC2 "
            "filters); an empty list usually comes from a selection that matched nothing, so there is nothing to do"
        )
    check_batch_options(params["modify_rate"], params["modify_burst"], params["max_concurrency"])
    region = module.region("No AWS region for instance_ids or filters: set the region option (or AWS_REGION)")
    budget = module.budget
    if params["wait"]:
        budget.extend(params["wait_timeout"])
    result = enforce_many(
        module.aws_client("ec2", region),
        module.aws_client("ec2", region, max_attempts=1),
        module.aws_client("cloudwatch", region),
        budget,
        wanted,
        instance_ids=params["instance_ids"],
        filters=params["filters"],
        check=params["imdsv1_usage_check"],
        window_days=params["imdsv1_usage_window"],
        check_mode=module.check_mode,
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        region=region,
        rate=params["modify_rate"],
        burst=params["modify_burst"],
        concurrency=params["max_concurrency"],
    )
    shown = result.warnings[:10]
    for warning in shown:
        module.warn(warning)
    if len(result.warnings) > len(shown):
        module.warn(f"{len(result.warnings) - len(shown)} more instance(s) switched with a warning: see instances[]")
    if result.failures:
        raise not_changed_error(result)
    before, after = result.diff()
    module.exit_with_diff(before, after, region=region, **result.as_dict())


def target_instance(module: ImdsModule) -> tuple:
    """(instance_id, region): the options; without instance_id, the instance the task runs on, asked of IMDS (the
    only use of the IMDS client options, and of requests); without region, the standard chain's."""
    instance_id, region = module.params["instance_id"], check_region_option(module.params["region"])
    if not instance_id:
        with module.imds_client() as client:
            instance_id, discovered_region = discover_instance(client)
        return instance_id, region or discovered_region
    region = module.session_region()
    if not region:
        raise region_missing(instance_id)
    return instance_id, region


def main() -> None:
    module = ImdsModule(
        argument_spec(),
        imds=True,
        aws=True,
        requires=["boto3"],
        mutually_exclusive=[("instance_id", "instance_ids"), ("instance_id", "filters")],
    )
    params = module.params
    with module.failures_reported():
        wanted = validate_requested(params)
        check_instance_id(params["instance_id"])
        check_window(params["imdsv1_usage_window"])
        if params["wait_timeout"] < 1:
            raise ImdsConfigError(f"wait_timeout must be at least 1 second, not {params['wait_timeout']}")
        if params["instance_ids"] is not None or params["filters"] is not None:
            enforce_fleet(module, wanted)
        instance_id, region = target_instance(module)
        budget = module.budget
        if params["wait"]:
            budget.extend(params["wait_timeout"])
        ec2 = module.aws_client("ec2", region)
        # Plan, decide, apply: the guard looks at the plan before anything is sent.
        plan = plan_metadata_options(ec2, instance_id, wanted, region)
        usage = None
        if plan.requires_tokens:
            usage = guard_tokens_required(
                module.aws_client("cloudwatch", region),
                budget,
                plan.instance,
                params["imdsv1_usage_check"],
                params["imdsv1_usage_window"],
                module.warn,
            )
        result = apply_metadata_options(
            ec2,
            plan,
            check_mode=module.check_mode,
            wait=params["wait"],
            wait_timeout=params["wait_timeout"],
            region=region,
            imdsv1_usage=usage,
        )
    module.exit_with_diff(
        result.before,
        result.after,
        changed=result.changed,
        instance_id=result.instance_id,
        region=region,
        metadata_options=result.metadata_options,
        imdsv1_usage=result.imdsv1_usage,
    )


if __name__ == "__main__":
    main()
