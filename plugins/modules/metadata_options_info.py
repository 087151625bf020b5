#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: metadata_options_info
short_description: Audit a fleet's IMDSv1 use before requiring IMDSv2
version_added: 1.0.0
description:
  - Lists the selected EC2 instances of a region with their metadata options and their IMDSv1 use from
    CloudWatch, and gives each a verdict on requiring IMDSv2
    (O(ec2meta.imds.metadata_options#module:http_tokens=required)).
  - IMDSv1 use is what EC2 publishes per instance in the C(AWS/EC2) namespace with the C(InstanceId) dimension,
    C(MetadataNoToken) (IMDSv1 calls IMDS answered) and C(MetadataNoTokenRejected) (IMDSv1 calls refused
    because tokens are required), summed over O(imdsv1_usage_window) days.
  - Beside them it reads C(StatusCheckFailed), which EC2 publishes for every running instance, as a witness. An
    hour the witness has and C(MetadataNoToken) lacks is unknown, never zero.
  - Verdicts, the first that applies; V(endpoint_disabled) the metadata endpoint is off;
    V(enforced_with_rejections) tokens are required and IMDSv1 callers were refused (something on the instance
    is broken now); V(uses_imdsv1) tokens are optional and IMDSv1 was used (requiring tokens would break the
    caller); V(unknown) the IMDSv1 use could not be read completely (a CloudWatch answer that is incomplete,
    malformed or has hours missing; the reason names the cause); V(too_recent) the instance started, or the
    window opened, less than an hour and a quarter ago, so CloudWatch has nothing yet; V(enforced) tokens are
    required and nothing was refused; V(ready) tokens are optional and a complete answer counted no IMDSv1
    call. Only V(ready) means tokens can be required.
  - Reads every page of C(DescribeInstances) and batches C(GetMetricData) (498 queries, 166 instances a call),
    so the number of API calls grows with pages and batches, not with instances. Every read is bounded
    (O(aws_timeout), page and size caps); an answer that holds more than was asked for fails the task with
    C(reason=bad_response).
  - Runs on the controller (or any host with AWS credentials), not on the instances.
  - With O(include), it also audits the region's launch paths, what an instance launched B(next) would get from each
    launch template (its default and latest version and every version an Auto Scaling group or a fleet uses), Auto
    Scaling group (one template, mixed-instances overrides, or a launch configuration), launch configuration, EC2 Fleet
    (its template specifications, and each AMI its overrides name) and Spot Fleet request (its template configurations,
    and its launch specifications, which name an AMI and never set metadata options, so the account defaults and the AMI
    decide), resolving C(http_tokens), C(http_put_response_hop_limit) and C(http_endpoint) one by one in AWS's order of
    precedence, the launch parameters, then the account's regional defaults, then the AMI's C(ImdsSupport=v2.0), then
    EC2's own defaults; each value says where it came from.
  - Launch-path verdicts, the first that applies; V(unknown) a layer could not be read or holds a value the API
    does not document (a missing AMI or template version, an AMI resolved from SSM at launch, C(HttpTokens=bogus),
    a hop limit of V(-7)), and the audit goes on with the other paths; V(launch_refused) tokens would be optional
    while C(http_tokens_enforced) is on, so EC2 refuses every launch from it B(now); V(allows_imdsv1) tokens would
    be optional; V(endpoint_disabled) tokens required and the endpoint off; V(enforced) tokens would be required;
    V(not_launching) a fleet that launches no new instances (type V(instant), a V(request) fleet whose one-time
    request is fulfilled, or a fleet that is deleted, cancelled or failed); it is listed with its launch paths and
    does not block enforcement. Something with several launch paths gets the worst (V(launch_refused) first, then
    V(unknown)).
  - The audit cannot see instances launched by direct C(RunInstances) calls, by other accounts, or by services that
    launch on your behalf with launch parameters of their own; RV(not_audited) says so in every result, and that the
    account default C(http_tokens=required) and C(http_tokens_enforced) are what cover those.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  instance_ids:
    description:
      - Audit these instances. An unknown ID fails the task (C(reason=instance_not_found)).
      - With O(filters), the instances among these that match the filters.
    type: list
    elements: str
  filters:
    description:
      - EC2 filters of C(DescribeInstances), each a filter name and a value or a list of values, for example
        C(tag:Environment) with V(prod), or C(instance-state-name) with the list V(running), V(stopped).
      - See U(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html) for the names.
      - Without O(instance_ids) and O(filters), every instance of the region.
    type: dict
    default: {}
  include_terminated:
    description:
      - Also list terminated instances (left out by default; CloudWatch has no recent data for them).
    type: bool
    default: false
  imdsv1_usage_window:
    description:
      - How many days of CloudWatch data to read, from 1 to 455. Cover the longest schedule of anything that
        runs on the instances (a weekly job needs at least 7).
    type: int
    default: 14
  include:
    description:
      - What to audit, each in the result key of the same name. V(instances) is the instance audit above;
        V(launch_templates), V(auto_scaling_groups), V(launch_configurations), V(ec2_fleets), V(spot_fleet_requests) the
        launch paths; V(images) the AMIs the account owns and the launch paths use, with their C(ImdsSupport);
        V(account_defaults) the region's defaults (see M(ec2meta.imds.instance_metadata_defaults)).
    type: list
    elements: str
    choices: [instances, launch_templates, auto_scaling_groups, launch_configurations, ec2_fleets,
              spot_fleet_requests, images, account_defaults]
    default: [instances]
  imdsv1_usage_since:
    description:
      - Read from this time (ISO 8601, for example V(2026-11-20T15:00:00Z); UTC when no zone is given) instead
        of O(imdsv1_usage_window) days back, for example from the moment tokens were required.
    type: str
  hop_limit_policy:
    description:
      - A bound on C(http_put_response_hop_limit) - a dict with one key, C(max) or C(min), and a number from 1 to 64.
        Each instance and launch path then gets C(hop_limit_verdict) (V(within_policy), V(above_max), V(below_min),
        V(unknown)) and C(hop_limit_reason) beside its tokens verdict, and the result RV(hop_limit_summary).
      - C(max) 1 is what AWS Config (autoscaling-launch-config-hop-limit), Control Tower (CT.EC2.PR.2) and Security
        Hub (AutoScaling.4) check; containers that read IMDS need C(min) 2 (3 for some eBPF CNIs).
      - The hop-limit verdict does not decide enforcement readiness, which is about tokens.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode and never reports a change.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The credentials need the IAM permissions C(ec2:DescribeInstances) and C(cloudwatch:GetMetricData); with
    O(include) of launch paths also C(ec2:DescribeLaunchTemplates), C(ec2:DescribeLaunchTemplateVersions),
    C(ec2:DescribeImages), C(ec2:GetInstanceMetadataDefaults), C(autoscaling:DescribeAutoScalingGroups),
    C(autoscaling:DescribeLaunchConfigurations), C(ec2:DescribeFleets) and C(ec2:DescribeSpotFleetRequests).
  - O(endpoint_url) applies to the EC2 and the CloudWatch calls.
  - CloudWatch publishes the metrics with a delay of a few minutes; a call made just now may not count yet.
seealso:
  - module: ec2meta.imds.metadata_options
    description: Requires IMDSv2 on an instance, and refuses while IMDSv1 is in use.
  - name: Transition to using IMDSv2
    description: The EC2 user guide on moving to IMDSv2, and the MetadataNoToken metric.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-transition-to-version-2.html
"""

EXAMPLES = r"""
---
- name: Audit the production instances of a region
  ec2meta.imds.metadata_options_info:
    region: eu-west-1
    filters:
      "tag:Environment": prod
  register: audit
  delegate_to: localhost
  run_once: true

- name: Show the instances that still use IMDSv1
  ansible.builtin.debug:
    msg: "{{ audit.instances | selectattr('verdict', 'equalto', 'uses_imdsv1') | map(attribute='instance_id') }}"
  run_once: true

- name: Audit what the next launches of a region would get
  ec2meta.imds.metadata_options_info:
    region: eu-west-1
    include: [launch_templates, auto_scaling_groups, launch_configurations, ec2_fleets, spot_fleet_requests,
              images, account_defaults]
  register: launch_paths
  delegate_to: localhost
  run_once: true

- name: Show the launch templates that still allow IMDSv1
  ansible.builtin.debug:
    msg: "{{ launch_paths.launch_templates | selectattr('verdict', 'equalto', 'allows_imdsv1')
             | map(attribute='launch_template_id') }}"
  run_once: true

- name: Look at two instances over the last 30 days
  ec2meta.imds.metadata_options_info:
    region: eu-west-1
    instance_ids:
      - i-0123456789abcdef0
      - i-0fedcba9876543210
    imdsv1_usage_window: 30
  delegate_to: localhost
"""

RETURN = r"""
region:
  description: The region audited.
  returned: success
  type: str
  sample: eu-west-1
instances:
  description: The selected instances, in the order DescribeInstances lists them.
  returned: when O(include) has V(instances)
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance ID.
      type: str
      returned: success
      sample: i-0123456789abcdef0
    name:
      description: The value of its C(Name) tag, null when it has none.
      type: str
      returned: success
      sample: web-1
    state:
      description: Its instance state, for example V(running) or V(stopped).
      type: str
      returned: success
      sample: running
    metadata_options:
      description: Its metadata options, as RV(ec2meta.imds.metadata_options#module:metadata_options) returns them.
      type: dict
      returned: success
      sample: {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled",
               "http_protocol_ipv6": "disabled", "instance_metadata_tags": "disabled", "state": "applied"}
    imdsv1_usage:
      description: Its IMDSv1 use in the window.
      type: dict
      returned: success
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
            publishes it for every running instance, so an hour it has and C(MetadataNoToken) lacks is
            unknown, not zero.
          type: int
          returned: success
          sample: 336
        calls_state:
          description: What the read found about IMDSv1 calls (C(MetadataNoToken)), one of V(in_use),
            V(not_in_use) (only
            for a complete, well-formed answer of zeros), V(unknown) (anything that could not be read
            completely; see C(calls_cause)), or V(too_recent) (the instance started, or the window opened,
            less than an hour and a quarter ago, so no hourly period has reached CloudWatch yet).
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
    verdict:
      description:
        - V(ready), V(uses_imdsv1), V(enforced), V(enforced_with_rejections), V(endpoint_disabled), V(unknown)
          or V(too_recent).
      type: str
      returned: success
      sample: uses_imdsv1
    verdict_reason:
      description: The verdict in words, with the counts and times it rests on.
      type: str
      returned: success
      sample: "12 IMDSv1 call(s) since 2026-11-09T15:32:00Z, the last at 2026-11-20T15:00:00Z: requiring tokens
        now would break that caller; update it to use IMDSv2 first"
summary:
  description: How many instances got each verdict (every verdict is a key, 0 when none got it).
  returned: when O(include) has V(instances)
  type: dict
  sample: {"ready": 40, "uses_imdsv1": 3, "enforced": 120, "enforced_with_rejections": 0,
           "endpoint_disabled": 0, "unknown": 2, "too_recent": 5}
api_calls:
  description: How many calls the audit made to each API action (pages and batches).
  returned: success
  type: dict
  sample: {"ec2:DescribeInstances": 1, "cloudwatch:GetMetricData": 1}
launch_templates:
  description: The region's launch templates.
  returned: when O(include) has V(launch_templates)
  type: list
  elements: dict
  contains:
    launch_template_id:
      description: The template's ID.
      type: str
      returned: success
      sample: lt-0123456789abcdef0
    launch_template_name:
      description: Its name.
      type: str
      returned: success
      sample: web
    default_version:
      description: Its default version number.
      type: int
      returned: success
      sample: 3
    latest_version:
      description: Its latest version number.
      type: int
      returned: success
      sample: 4
    versions:
      description:
        - The versions judged, the default, the latest and every version a group uses, with C(roles) saying
          which (V(default), V(latest), V(auto_scaling_group:NAME), V(ec2_fleet:ID), V(spot_fleet_request:ID) for
          fleets that still launch), C(metadata_options) as the version sets them (a value the API does not
          document as given, as a string or number),
          C(image_id), C(effective) (the values an instance launched from it would get), C(sources) (the layer
          each value came from, V(launch_parameters), V(account_defaults), V(image), V(aws_default), or
          V(unknown) with the cause), C(verdict), C(verdict_reason) and C(blocks_enforcement).
      type: list
      elements: dict
      returned: success
      sample: [{"version": 3, "roles": ["default", "latest"], "image_id": "ami-0123456789abcdef0",
                "metadata_options": {"http_tokens": null, "http_put_response_hop_limit": null, "http_endpoint": null},
                "effective": {"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": "enabled"},
                "sources": {"http_tokens": "image", "http_put_response_hop_limit": "image",
                            "http_endpoint": "aws_default"},
                "verdict": "enforced", "verdict_reason": "...", "blocks_enforcement": false}]
    verdict:
      description: The worst verdict of its versions.
      type: str
      returned: success
      sample: allows_imdsv1
    verdict_reason:
      description: The verdict in words, naming the versions it rests on.
      type: str
      returned: success
      sample: "version 3 (default, latest): instances launched from it allow IMDSv1 (http_tokens=optional from
        launch_parameters): require tokens here"
    blocks_enforcement:
      description: Whether account-level enforcement would refuse a launch from one of its versions (or that
        cannot be ruled out).
      type: bool
      returned: success
      sample: true
    users:
      description: What launches from the template, each C(kind), C(name) and C(version) as it names the version
        (V($Default), V($Latest) or a number) - the O(ec2meta.imds.launch_template_metadata_options#module:users) of
        M(ec2meta.imds.launch_template_metadata_options) with V(versions=in_use).
      type: list
      elements: dict
      returned: success
      sample: [{"kind": "auto_scaling_group", "name": "web-asg", "version": "$Latest"}]
auto_scaling_groups:
  description: The region's Auto Scaling groups.
  returned: when O(include) has V(auto_scaling_groups)
  type: list
  elements: dict
  contains:
    auto_scaling_group_name:
      description: The group's name.
      type: str
      returned: success
      sample: web-asg
    launch_paths:
      description:
        - What the group launches from, each with C(kind) (V(launch_template), V(mixed_instances_policy),
          V(mixed_instances_override), V(launch_configuration)), the template and C(version_requested)
          (V($Default), V($Latest) or a number) and the C(version) it means now, and C(effective), C(sources),
          C(verdict), C(verdict_reason), C(blocks_enforcement) as for a template version.
      type: list
      elements: dict
      returned: success
      sample: [{"kind": "launch_template", "launch_template_id": "lt-0123456789abcdef0", "version_requested": "$Latest",
                "version": 4, "verdict": "enforced"}]
    verdict:
      description: The worst verdict of its launch paths.
      type: str
      returned: success
      sample: enforced
    verdict_reason:
      description: The verdict in words.
      type: str
      returned: success
      sample: "launch_template: instances launched from it require IMDSv2 (http_tokens=required from
        launch_parameters)"
    blocks_enforcement:
      description: As for launch templates.
      type: bool
      returned: success
      sample: false
launch_configurations:
  description:
    - The region's launch configurations, each with C(launch_configuration_name), C(image_id), C(metadata_options),
      C(effective), C(sources), C(verdict), C(verdict_reason), C(blocks_enforcement), C(used_by) (the Auto Scaling
      groups that launch from it) and C(launches_new_instances).
    - A launch configuration that no group uses launches nothing - its verdict is V(not_launching), it does not block
      enforcement, and C(verdict_if_used) says what a group launched from it would get.
  returned: when O(include) has V(launch_configurations)
  type: list
  elements: dict
  sample: [{"launch_configuration_name": "old-web", "verdict": "allows_imdsv1", "blocks_enforcement": true}]
images:
  description:
    - The AMIs the account owns and the AMIs the launch paths use, each with C(image_id), C(name), C(owner_id),
      C(imds_support) (V(v2.0) or null) and C(verdict) (V(enforced) or V(allows_imdsv1)).
  returned: when O(include) has V(images)
  type: list
  elements: dict
  sample: [{"image_id": "ami-0123456789abcdef0", "imds_support": "v2.0", "verdict": "enforced"}]
account_defaults:
  description:
    - The region's IMDS defaults (null where the account has no preference), C(managed_by), and C(verdict)
      (V(enforced), V(allows_imdsv1) or V(no_preference)).
  returned: when O(include) has V(account_defaults)
  type: dict
  sample: {"region": "eu-west-1", "http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": null,
           "instance_metadata_tags": null, "http_tokens_enforced": null, "managed_by": "account",
           "managed_exception_message": null, "verdict": "enforced"}
ec2_fleets:
  description:
    - The region's EC2 Fleets (C(DescribeFleets) lists no fleet of type V(instant)), each with C(fleet_id), C(name)
      (its C(Name) tag), C(type), C(state), C(fulfilled_capacity), C(target_capacity), C(launches_new_instances)
      and C(launches_reason) (a V(maintain) fleet launches; a V(request) fleet only until its one-time request is
      fulfilled), C(launch_paths) (each template specification as for a group, with C(kind) V(launch_template) or
      V(launch_template_override) where an override names another AMI, C(image_id)), C(verdict),
      C(verdict_reason) and C(blocks_enforcement).
  returned: when O(include) has V(ec2_fleets)
  type: list
  elements: dict
  sample: [{"fleet_id": "fleet-0123abcd-0123-abcd-0123-0123456789ab", "name": "batch", "type": "maintain",
            "state": "active", "launches_new_instances": true, "verdict": "allows_imdsv1", "blocks_enforcement": true}]
spot_fleet_requests:
  description:
    - The region's Spot Fleet requests, each with C(spot_fleet_request_id) and the fields of RV(ec2_fleets).
      A launch path of C(kind) V(launch_specification) names an AMI and sets no metadata options (the API has
      none for it), so the account defaults, then the AMI's C(ImdsSupport), then EC2's default decide.
  returned: when O(include) has V(spot_fleet_requests)
  type: list
  elements: dict
  sample: [{"spot_fleet_request_id": "sfr-0123456789abcdef0", "type": "maintain", "state": "active",
            "launches_new_instances": true, "verdict": "allows_imdsv1", "blocks_enforcement": true}]
launch_path_summary:
  description: How many launch paths of each kind got each verdict (every verdict is a key, 0 when none got it).
  returned: when O(include) has a launch path
  type: dict
  sample: {"launch_templates": {"unknown": 0, "launch_refused": 0, "allows_imdsv1": 3, "endpoint_disabled": 0,
                                "enforced": 12, "not_launching": 0}}
hop_limit_policy:
  description: The policy the hop-limit verdicts were given under.
  returned: when O(hop_limit_policy) is set
  type: dict
  sample: {"max": 1}
hop_limit_summary:
  description: How many instances and launch paths of each kind got each hop-limit verdict.
  returned: when O(hop_limit_policy) is set
  type: dict
  sample: {"instances": {"unknown": 0, "above_max": 4, "below_min": 0, "within_policy": 20},
           "launch_templates": {"unknown": 0, "above_max": 1, "below_min": 0, "within_policy": 9}}
not_audited:
  description: What the launch-path audit cannot see, once per result.
  returned: when O(include) has a launch path
  type: dict
  contains:
    launch_paths:
      description: What launches instances that no call of the audit shows.
      type: list
      elements: str
      returned: success
      sample: ["instances launched by direct RunInstances calls (the console, the CLI, SDKs, CI jobs,
                infrastructure-as-code tools) with metadata options of their own or none"]
    covered_by:
      description: What covers those, in words (the account default and enforcement).
      type: str
      returned: success
      sample: "The account's default http_tokens=required (ec2meta.imds.instance_metadata_defaults) makes those of
        them that set no metadata options require IMDSv2; ..."
    coverage:
      description: What covers them in this region now, V(enforcement) (C(http_tokens_enforced) is on),
        V(account_default) (the default C(http_tokens) is V(required)) or V(none).
      type: str
      returned: success
      sample: none
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.hop_limit_policy import apply_policy, check_policy  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (  # noqa: E402
    DEFAULT_WINDOW_DAYS,
    audit,
    check_window,
    parse_since,
    too_early_warning,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import (  # noqa: E402
    INCLUDE_CHOICES,
    audit_launch_paths,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "instance_ids": {"type": "list", "elements": "str"},
        "filters": {"type": "dict", "default": {}},
        "include_terminated": {"type": "bool", "default": False},
        "imdsv1_usage_window": {"type": "int", "default": DEFAULT_WINDOW_DAYS},
        "imdsv1_usage_since": {"type": "str"},
        "include": {"type": "list", "elements": "str", "choices": list(INCLUDE_CHOICES), "default": ["instances"]},
        "hop_limit_policy": {"type": "dict"},
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    with module.failures_reported():
        check_window(params["imdsv1_usage_window"])
        hop_limit_policy = check_policy(params["hop_limit_policy"])
        since = parse_since(params["imdsv1_usage_since"]) if params["imdsv1_usage_since"] else None
        region = check_regions(
            [
                module.region(
                    "No AWS region to audit: set the region option (or AWS_REGION, AWS_DEFAULT_REGION, or a region "
                    "in the AWS profile); run the task once per region for several"
                )
            ]
        )[0]
        budget = module.budget
        ec2 = module.aws_client("ec2", region)
        result: dict = {"api_calls": {}}
        if "instances" in params["include"]:
            result = audit(
                ec2,
                module.aws_client("cloudwatch", region),
                budget,
                instance_ids=params["instance_ids"],
                filters=params["filters"],
                include_terminated=params["include_terminated"],
                window_days=params["imdsv1_usage_window"],
                since=since,
                region=region,
            )
            warning = too_early_warning(result["instances"], since) if since else None
            if warning:
                module.warn(warning)
        paths = [name for name in params["include"] if name != "instances"]
        if paths:
            found = audit_launch_paths(ec2, module.aws_client("autoscaling", region), budget, region, paths)
            result = {**result, **found, "api_calls": {**result["api_calls"], **found["api_calls"]}}
        apply_policy(result, hop_limit_policy)
    module.exit(changed=False, region=region, **result)


if __name__ == "__main__":
    main()
