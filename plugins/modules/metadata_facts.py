#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: metadata_facts
short_description: Gather EC2 instance facts from the Instance Metadata Service
version_added: 1.0.0
description:
  - Reads the EC2 Instance Metadata Service (IMDS) of the host it runs on and returns a typed, nested
    C(ec2) fact with identity, network interfaces, placement, IAM role, tags, events, user-data and more.
  - IMDSv2 first (one session token per run), IMDSv1 only where allowed. Requests run concurrently and each
    path is requested once, so a full gather takes a handful of round trips.
  - Never returns credential values. The role's credential document is read only for its expiry, and
    reduced to its non-secret fields as it arrives.
  - Replaces C(curl) one-liners and M(amazon.aws.ec2_metadata_facts); O(flatten=true) also returns that
    module's C(ansible_ec2_*) names.
options:
  gather_subset:
    description:
      - What to gather, like M(ansible.builtin.setup). V(all) gathers everything; V(min) is V(identity) only,
        from the instance identity document (one request after the token).
      - The names are V(all), V(min), V(identity), V(instance), V(network), V(placement), V(iam), V(tags),
        V(block_devices), V(public_keys), V(events), V(user_data) and V(other). An unknown name fails the task with
        a message listing them.
      - A name prefixed with C(!) is left out, for example V(!user_data). V(min) is always added unless V(!min) is
        given.
      - V(identity) is the identity document (instance id, AMI, type, region, zone, account, private IPv4).
        V(instance) is the top-level meta-data values (hostnames, IPs, MAC, security groups, life cycle).
        V(other) is every meta-data or dynamic path not modelled, kept in RV(ansible_facts.ec2.raw).
    type: list
    elements: str
    default: [all]
  on_unavailable:
    description:
      - What to do when there is no usable IMDS on the host (not an EC2 instance, unreachable, endpoint disabled,
        or IMDS turned off by C(AWS_EC2_METADATA_DISABLED=true) in the host's environment).
      - V(fail) fails the task with a message naming the cause (within about O(timeout) seconds).
      - V(report) succeeds with RV(ansible_facts.ec2.available=false) and the reason, so one play can run on a
        mixed fleet. Other errors (for example a refused token with O(allow_imdsv1=false)) still fail.
    type: str
    choices: [fail, report]
    default: fail
  flatten:
    description:
      - Also return the flat C(ansible_ec2_*) facts of M(amazon.aws.ec2_metadata_facts) (credential values
        excepted; a JSON key or a leaf named like a secret gives no C(ansible_ec2_*) name), to migrate playbooks
        one step at a time.
    type: bool
    default: false
attributes:
  facts:
    support: full
extends_documentation_fragment:
  - ec2meta.imds.secret_masking
  - ansible.builtin.action_common_attributes.facts
  # Order matters: on a clash the fragment listed first wins.
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.client
  - ec2meta.imds.action_group
notes:
  - Use it in fact gathering by setting the variable C(ansible_facts_modules) (or C(FACTS_MODULES) in
    C(ansible.cfg)) to a list such as C([setup, ec2meta.imds.metadata_facts]), or
    C([smart, ec2meta.imds.metadata_facts]) (V(smart) expands to M(ansible.builtin.setup) on hosts without a
    network OS).
  - During fact gathering, the play's C(gather_subset) keyword is B(not) passed to this module (ansible-core only
    passes it to M(ansible.builtin.setup)). Set this module's O(gather_subset) and client options with
    C(module_defaults), keyed by C(ec2meta.imds.metadata_facts) or by the group C(group/ec2meta.imds.imds);
    ansible-core applies them to facts modules run by C(gather_facts).
seealso:
  - module: ec2meta.imds.metadata
  - plugin: ec2meta.imds.metadata
    plugin_type: lookup
  - module: amazon.aws.ec2_metadata_facts
author:
  - ec2meta.imds maintainers (@ec2meta)
"""

EXAMPLES = r"""
---
- name: Gather EC2 facts
  ec2meta.imds.metadata_facts:

- name: Show where the instance runs
  ansible.builtin.debug:
    msg: "{{ ansible_facts.ec2.instance_id }} in {{ ansible_facts.ec2.availability_zone }}"

- name: Only the identity document (two requests)
  ec2meta.imds.metadata_facts:
    gather_subset: [min]

- name: Everything but user-data, and also run on hosts that are not EC2
  ec2meta.imds.metadata_facts:
    gather_subset: [all, '!user_data']
    on_unavailable: report

- name: Keep playbooks written for amazon.aws.ec2_metadata_facts working
  ec2meta.imds.metadata_facts:
    flatten: true

# To gather them with the play's own fact gathering instead, set on the play (options through module_defaults):
#   gather_facts: true
#   vars:
#     ansible_facts_modules: [setup, ec2meta.imds.metadata_facts]
#   module_defaults:
#     ec2meta.imds.metadata_facts:
#       gather_subset: [min, placement, tags]
#       on_unavailable: report
- name: Use the facts, on EC2 hosts only
  ansible.builtin.debug:
    msg: "{{ ansible_facts.ec2.tags.Name | default('untagged') }}"
  when: ansible_facts.ec2.available
"""

RETURN = r"""
ansible_facts:
  description: Facts about the instance.
  returned: always
  type: dict
  contains:
    ec2:
      description:
        - The instance as IMDS describes it. Keys of a subset that was not gathered are absent; values IMDS does
          not have (no IPv6, no public IPv4) are V(null).
      returned: always
      type: dict
      contains:
        available:
          description: V(false) only with O(on_unavailable=report) when IMDS could not be used.
          type: bool
          returned: always
          sample: true
        reason:
          description:
            - Why IMDS was unavailable, as a stable code. V(unreachable), V(timeout), V(endpoint_disabled)
              (the instance's http_endpoint is disabled) or V(disabled_by_environment) (AWS_EC2_METADATA_DISABLED).
          type: str
          returned: when RV(ansible_facts.ec2.available=false)
          sample: unreachable
        msg:
          description: The full message when IMDS was unavailable.
          type: str
          returned: when RV(ansible_facts.ec2.available=false)
          sample: Could not reach IMDS at http://169.254.169.254 (no connection within 1s) ...
        imds_version:
          description: Which IMDS version answered (2 with a token, 1 after a fallback).
          type: int
          returned: when available
          sample: 2
        gather_subset:
          description: The subsets gathered, after expanding V(all), V(min) and exclusions.
          type: list
          elements: str
          returned: when available
          sample: [identity, placement, tags]
        instance_id:
          description: The instance id.
          type: str
          returned: with identity or instance
          sample: i-0a1b2c3d4e5f60718
        ami_id:
          description: The AMI the instance was launched from.
          type: str
          returned: with identity or instance
          sample: ami-0a1b2c3d4e5f60718
        instance_type:
          description: The instance type.
          type: str
          returned: with identity or instance
          sample: t3.medium
        region:
          description: The region.
          type: str
          returned: with identity or placement
          sample: eu-west-1
        availability_zone:
          description: The availability zone name.
          type: str
          returned: with identity or placement
          sample: eu-west-1a
        availability_zone_id:
          description: The availability zone id, the same zone across accounts.
          type: str
          returned: with placement
          sample: euw1-az1
        account_id:
          description: The AWS account that owns the instance.
          type: str
          returned: with identity
          sample: "123456789012"
        architecture:
          description: The CPU architecture.
          type: str
          returned: with identity
          sample: x86_64
        private_ipv4:
          description: The primary private IPv4 address.
          type: str
          returned: with identity or instance
          sample: 172.31.10.20
        public_ipv4:
          description: The public IPv4 address, or V(null).
          type: str
          returned: with instance
          sample: 54.170.10.20
        ipv6:
          description: The primary IPv6 address, or V(null).
          type: str
          returned: with instance
          sample: 2a05:d018:1234:5600::10
        hostname:
          description: The private DNS hostname.
          type: str
          returned: with instance
          sample: ip-172-31-10-20.eu-west-1.compute.internal
        local_hostname:
          description: The local hostname.
          type: str
          returned: with instance
          sample: ip-172-31-10-20.eu-west-1.compute.internal
        public_hostname:
          description: The public DNS hostname, or V(null).
          type: str
          returned: with instance
          sample: ec2-54-170-10-20.eu-west-1.compute.amazonaws.com
        mac:
          description: The MAC address of the primary network interface.
          type: str
          returned: with instance
          sample: 0a:1b:2c:3d:4e:5f
        security_groups:
          description: Names of the security groups of the instance.
          type: list
          elements: str
          returned: with instance
          sample: [web, ssh]
        instance_life_cycle:
          description: V(on-demand), V(spot) or V(scheduled).
          type: str
          returned: with instance
          sample: spot
        reservation_id:
          description: The reservation id.
          type: str
          returned: with instance
          sample: r-0a1b2c3d4e5f60718
        ami_launch_index:
          description: The launch index of the instance in its reservation.
          type: int
          returned: with instance
          sample: 0
        identity_document:
          description: The instance identity document, parsed.
          type: dict
          returned: with identity
          sample: {"accountId": "123456789012", "region": "eu-west-1", "instanceId": "i-0a1b2c3d4e5f60718"}
        placement:
          description: The placement values, keys in snake_case.
          type: dict
          returned: with placement
          sample: {"availability_zone": "eu-west-1a", "availability_zone_id": "euw1-az1", "region": "eu-west-1",
                   "partition_number": 1}
        network_interfaces:
          description:
            - Network interfaces keyed by MAC address. Keys are IMDS names in snake_case; newline lists (IPs, CIDR
              blocks, security groups) are lists; C(device_number) and C(network_card_index) are integers.
          type: dict
          returned: with network
          sample:
            "0a:1b:2c:3d:4e:5f":
              interface_id: eni-0a1b2c3d4e5f60718
              device_number: 0
              subnet_id: subnet-0a1b2c3d4e5f60718
              subnet_ipv4_cidr_block: 172.31.0.0/20
              vpc_id: vpc-0a1b2c3d4e5f60718
              vpc_ipv4_cidr_blocks: [172.31.0.0/16]
              local_ipv4s: [172.31.10.20]
              ipv6s: ["2a05:d018:1234:5600::10"]
              security_group_ids: [sg-0a1b2c3d4e5f60718]
              ipv4_associations: {"54.170.10.20": "172.31.10.20"}
        block_devices:
          description: The block device mapping, virtual name to device.
          type: dict
          returned: with block_devices
          sample: {"ami": "/dev/xvda", "root": "/dev/xvda", "ebs2": "sdb"}
        public_keys:
          description: The launch public keys, key name to OpenSSH public key.
          type: dict
          returned: with public_keys
          sample: {"deploy-key": "ssh-ed25519 AAAA... deploy-key"}
        tags_enabled:
          description: Whether instance tags are exposed in IMDS (C(instance_metadata_tags=enabled)).
          type: bool
          returned: with tags
          sample: true
        tags:
          description: The instance tags; empty when tags are not exposed in IMDS.
          type: dict
          returned: with tags
          sample: {"Name": "web-01", "Environment": "production"}
        iam:
          description: The instance profile, or V(null) without one. Never contains credential values.
          type: dict
          returned: with iam
          contains:
            role_name:
              description: The IAM role name.
              type: str
              sample: web-server-role
            instance_profile_arn:
              description: The instance profile ARN.
              type: str
              sample: arn:aws:iam::123456789012:instance-profile/web-server-profile
            instance_profile_id:
              description: The instance profile id.
              type: str
              sample: AIPAXAMPLEPROFILE0001
            last_updated:
              description: When the instance profile information was last updated.
              type: str
              sample: "2026-11-23T07:00:00Z"
            credentials_code:
              description: The status code of the role credentials (V(Success) when they are usable).
              type: str
              sample: Success
            credentials_last_updated:
              description: When the role credentials were issued.
              type: str
              sample: "2026-11-23T07:00:00Z"
            credentials_expiration:
              description: When the current role credentials expire.
              type: str
              sample: "2026-11-23T13:00:00Z"
        events:
          description: Scheduled events, spot and rebalance notices.
          type: dict
          returned: with events
          contains:
            instance_action:
              description: The pending instance action, V(none) without one.
              type: str
              sample: none
            spot_instance_action:
              description: The spot interruption notice, parsed, or V(null).
              type: dict
              sample: {"action": "stop", "time": "2026-11-23T09:30:00Z"}
            spot_termination_time:
              description: The spot termination time, or V(null).
              type: str
              sample: "2026-11-23T09:30:00Z"
            rebalance_recommendation:
              description: The rebalance recommendation, parsed, or V(null).
              type: dict
              sample: {"noticeTime": "2026-11-23T08:00:00Z"}
            maintenance_scheduled:
              description: Scheduled maintenance events.
              type: list
              elements: dict
              sample: []
            maintenance_history:
              description: Past maintenance events.
              type: list
              elements: dict
              sample: []
            target_lifecycle_state:
              description:
                - The Auto Scaling target lifecycle state (C(autoscaling/target-lifecycle-state)), for example
                  V(InService), V(Terminated) or V(Warmed:Pending); V(null) outside an Auto Scaling group.
              type: str
              sample: InService
              version_added: 1.1.0
            announced:
              description:
                - What EC2 announces now, as the events of the C(ec2meta.imds.imds_events) Event-Driven Ansible
                  source (same keys - C(kind), C(instance_id), C(region), C(path), C(document), C(dedupe_key) and
                  the kind's own fields), each with C(starts_at) (when it takes effect, or V(null)).
                - Kinds are V(spot_interruption), V(rebalance_recommendation), V(maintenance_scheduled) (active
                  entries only) and V(lifecycle_state). A notice path whose answer is in a shape EC2 never gives
                  is an event of kind V(unknown) (with C(path), C(reason) and C(message)), which
                  C(ec2meta.imds.events_due) counts as due. Without the identity, C(instance_id) and C(region) are
                  V(unknown) and C(identity_known) is V(false).
                - Ask "is anything due on this host in the next N hours?" with the C(ec2meta.imds.events_due)
                  filter.
              type: list
              elements: dict
              sample: [{"kind": "spot_interruption", "action": "stop", "time": "2026-11-23T09:30:00Z",
                        "starts_at": "2026-11-23T09:30:00Z", "instance_id": "i-0a1b2c3d4e5f60718",
                        "region": "eu-west-1", "path": "meta-data/spot/instance-action",
                        "document": {"action": "stop", "time": "2026-11-23T09:30:00Z"},
                        "dedupe_key": "spot_interruption:i-0a1b2c3d4e5f60718:stop:2026-11-23T09:30:00Z",
                        "detected_at": "2026-11-23T09:28:01Z"}]
              version_added: 1.1.0
        user_data:
          description: The user-data, or V(null) when none was set. gzip is unpacked; binary is returned as base64.
          type: dict
          returned: with user_data
          contains:
            size:
              description: Size in bytes as served.
              type: int
              sample: 75
            compressed:
              description: Whether it was gzip-compressed.
              type: bool
              sample: false
            format:
              description: V(text) or V(binary).
              type: str
              sample: text
            text:
              description: The text, or V(null) for binary user-data.
              type: str
              sample: "#cloud-config\n"
            base64:
              description: Base64 of the (unpacked) binary user-data, or V(null) for text.
              type: str
              sample: null
        raw:
          description:
            - The gathered C(meta-data/) and C(dynamic/) trees as IMDS lists them, for anything not modelled.
              Credential documents appear only as their non-secret fields.
          type: dict
          returned: when available
          sample: {"meta-data": {"instance-id": "i-0a1b2c3d4e5f60718", "services": {"domain": "amazonaws.com"}}}
    ansible_ec2_instance_id:
      description:
        - With O(flatten=true), every value also as an C(ansible_ec2_*) fact named as
          M(amazon.aws.ec2_metadata_facts) names it (this is one of them). Credential values are never included.
      returned: when O(flatten=true)
      type: str
      sample: i-0a1b2c3d4e5f60718
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather_ec2_facts  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def main() -> None:
    module = ImdsModule(
        {
            # Checked by resolve_gather_subset, which names the valid subsets (choices cannot express "!name").
            "gather_subset": {"type": "list", "elements": "str", "default": ["all"]},
            "on_unavailable": {"type": "str", "choices": ["fail", "report"], "default": "fail"},
            "flatten": {"type": "bool", "default": False},
        },
        imds=True,
        requires=["requests"],
    )
    params = module.params
    with module.failures_reported():
        facts = gather_ec2_facts(params, params["gather_subset"], params["on_unavailable"], params["flatten"])
    module.exit(changed=False, ansible_facts=facts)


if __name__ == "__main__":
    main()
