#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance_claim_info
short_description: Prove on the controller that the instance a host claims to be is the one the controller knows
version_added: 1.0.0
description:
  - Everything a host's Instance Metadata Service answers is a claim by that host; root on it can serve any
    instance id. This module checks a claimed instance id (O(claimed_instance_id), typically read from the host's
    IMDS) against what the controller knows B(independently), before the controller's AWS credentials act on it.
  - With O(known_instance_id) (the inventory's own C(instance_id) host variable, which the C(amazon.aws.aws_ec2)
    inventory sets), the claim must name that instance.
  - Without it, O(connection_address) (the address the controller connects to the host by) must be one of the
    addresses C(DescribeInstances), read with the controller's credentials, lists for the claimed instance on any
    of its network interfaces (private or public IPv4 address, IPv6 address, private or public DNS name). IP
    addresses compare in canonical form, names without case and without a trailing dot. No name is resolved
    through DNS, and a name is never read as the IP address it spells; one whose last label is all digits (such as
    C(54.1.2.3.) or C(054.1.2.3)) is neither an IP address nor a DNS name, and proves nothing.
  - The region is a claim too when the host names it. The claimed instance is looked up in O(known_region), the
    region the controller knows the host is in (the inventory's C(placement.region)); without it, in every region
    the account has enabled (C(DescribeRegions)), at most 8 at a time, all within O(aws_timeout). The instance must
    be found in exactly one place.
  - Proofs, strongest first, with RV(proof.by) saying which one was used. V(instance_id) (O(known_instance_id)); an
    address EC2 gives to one instance at a time (V(ipv6_address), V(public_dns_name)); a public IPv4 address
    (V(public_ip_address)) only when no other instance has it as a private address in the regions looked in (a VPC
    may use a public range, and from inside it the address reaches that VPC's instance); a private address
    (V(private_ip_address), V(private_dns_name)) only when no other instance has it in the regions looked in, as its
    primary or a secondary address, since private addresses repeat across VPCs with overlapping CIDRs and across
    regions. An address two instances share proves nothing, and the failure names both places (instance, region,
    VPC); so does a region that cannot be read completely (an error, or an answer not in DescribeInstances' shape),
    since an instance there could share it.
  - It fails closed with C(reason=identity_unproven), naming the claimed id and what the controller knew, when the
    claim does not match, EC2 does not know the claimed instance in the regions looked in (or it is terminated),
    the claimed id is not an instance id, the address is empty or not an IP address or DNS name, or the enabled
    regions cannot be listed (C(DescribeRegions) failed or timed out) or there is none (every one is
    not-opted-in).
  - Only reads (C(ec2:DescribeInstances), and C(ec2:DescribeRegions) without O(known_region)); runs on the
    controller, or any host with AWS credentials the play trusts.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  claimed_instance_id:
    description:
      - The instance id the host claims to be, for example what its IMDS answered for C(meta-data/instance-id).
    type: str
    required: true
  known_instance_id:
    description:
      - The instance id the controller knows for the host, for example the C(instance_id) host variable of the
        C(amazon.aws.aws_ec2) inventory. When set, the claim must name it and O(connection_address) is not used.
      - Never give a value the host reported (facts, IMDS); that would compare the claim with itself.
    type: str
  connection_address:
    description:
      - The address the controller connects to the host by, for example C(ansible_host), else C(inventory_hostname).
      - Used when O(known_instance_id) is not set.
    type: str
  known_region:
    description:
      - The region the controller knows the host's instance is in, for example the C(placement.region) host
        variable of the C(amazon.aws.aws_ec2) inventory. The claimed instance is looked up there only, and a private
        or public IPv4 address proves when no other instance of that region has it (as a private address).
      - Without it every region the account has enabled is searched (C(DescribeRegions), asked in O(region)).
      - Never give a region the host reported (facts, IMDS); give that as O(region) at most, where it only says
        where C(DescribeRegions) is asked.
    type: str
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
  - The credentials need the IAM permission C(ec2:DescribeInstances).
  - O(region) is only where C(DescribeRegions) is asked when O(known_region) is not set; it never limits the
    search, so it may be the region the host claims.
  - The credentials need C(ec2:DescribeRegions) when O(known_region) is not set.
  - The role P(ec2meta.imds.instance_metadata#role) runs this module before it changes anything on an instance
    whose id it read from the host.
seealso:
  - module: ec2meta.imds.instance_identity
    description: Verifies the AWS-signed identity document a host serves, against expectations the controller gives.
  - module: ec2meta.imds.metadata_options
    description: Changes an instance's metadata options through the EC2 API.
  - name: amazon.aws.aws_ec2 inventory
    description: Sets the C(instance_id) host variable from C(DescribeInstances).
    link: https://docs.ansible.com/ansible/latest/collections/amazon/aws/aws_ec2_inventory.html
"""

EXAMPLES = r"""
---
- name: Read the instance id the host claims
  ec2meta.imds.metadata:
    path: meta-data/instance-id
  register: claimed

- name: Prove it against the address the controller connects to
  ec2meta.imds.instance_claim_info:
    claimed_instance_id: "{{ claimed.value }}"
    connection_address: "{{ ansible_host | default(inventory_hostname) }}"
    region: eu-west-1  # where DescribeRegions is asked: every enabled region is searched
  delegate_to: localhost
  register: proven

- name: Prove it against the inventory's instance id (amazon.aws.aws_ec2 sets instance_id)
  ec2meta.imds.instance_claim_info:
    claimed_instance_id: "{{ claimed.value }}"
    known_instance_id: "{{ instance_id }}"
    known_region: "{{ placement.region }}"
    region: "{{ placement.region }}"
  delegate_to: localhost
  when: instance_id is defined
"""

RETURN = r"""
instance_id:
  description: The proven instance id.
  returned: success
  type: str
  sample: i-0123456789abcdef0
region:
  description: The region the instance was found in; act on the instance there.
  returned: success
  type: str
  sample: eu-west-1
region_source:
  description:
    - Where the region came from, V(known_region) (O(known_region)) or V(searched) (every enabled region was
      searched, RV(regions_searched)).
  returned: success
  type: str
  sample: searched
regions_searched:
  description: The regions the claimed instance was looked up in; on failure too, once they are known.
  returned: success
  type: list
  elements: str
  sample: [eu-west-1, eu-west-3, us-east-1]
proof:
  description: The evidence that proved the claim.
  returned: success
  type: dict
  contains:
    by:
      description: The same as RV(proven_by).
      type: str
      returned: success
      sample: public_ip_address
    value:
      description: The instance id or the address (in canonical form) that matched.
      type: str
      returned: success
      sample: 54.1.2.3
    explanation:
      description: The proof in words.
      type: str
      returned: success
      sample: the controller connects to 54.1.2.3, the public_ip_address EC2 lists for i-0123456789abcdef0
account_id:
  description: The account that owns the instance, from C(DescribeInstances) (the reservation's C(OwnerId)).
  returned: success
  type: str
  sample: "123456789012"
proven_by:
  description:
    - What proved the claim, V(instance_id) (O(known_instance_id)), or the kind of address that matched
      O(connection_address), V(public_ip_address), V(ipv6_address), V(public_dns_name), V(private_ip_address) or
      V(private_dns_name) (strongest first).
  returned: success
  type: str
  sample: private_ip_address
addresses:
  description:
    - The claimed instance's addresses from C(DescribeInstances), each kind a list (empty when it has none).
    - Also returned on failure when EC2 knows the claimed instance.
  returned: success
  type: dict
  sample: {"private_ip_address": ["10.0.1.17"], "public_ip_address": [], "ipv6_address": [],
           "private_dns_name": ["ip-10-0-1-17.eu-west-1.compute.internal"], "public_dns_name": []}
claimed_instance_id:
  description: On failure, the instance id the host claimed.
  returned: failure
  type: str
  sample: i-0fedcba9876543210
known:
  description: On failure, what the controller knew, each null when not given.
  returned: failure
  type: dict
  contains:
    instance_id:
      description: O(known_instance_id).
      type: str
      returned: failure
      sample: i-0123456789abcdef0
    connection_address:
      description: O(connection_address).
      type: str
      returned: failure
      sample: 10.0.1.17
    region:
      description: O(known_region); null when every enabled region was searched.
      type: str
      returned: failure
      sample: eu-west-1
places:
  description:
    - On failure because another instance has the same address (a private one, or the claimed instance's public
      IPv4 address as a private one), where each such instance is (instance, region and VPC).
  returned: failure
  type: list
  elements: str
  sample: ["i-0fedcba9876543210 (eu-west-3 vpc-0a1b2c3d)"]
reason:
  description: On failure, why; V(identity_unproven) when the claim is not proven.
  returned: failure
  type: str
  sample: identity_unproven
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.instance_claim import (  # noqa: E402
    check_region,
    prove_claim,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "claimed_instance_id": {"type": "str", "required": True, "no_log": False},
        "known_instance_id": {"type": "str", "no_log": False},
        "connection_address": {"type": "str"},
        "known_region": {"type": "str"},
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    with module.failures_reported():
        known_region = check_region(params["known_region"], "known_region") if params["known_region"] else None
        api_region = known_region or module.region(
            "No AWS region to list the account's regions in: set the region option (or AWS_REGION, "
            "AWS_DEFAULT_REGION, or a region in the AWS profile), or known_region when the controller knows the "
            "host's region"
        )
        proven = prove_claim(
            lambda region: module.aws_client("ec2", region),
            module.budget,
            params["claimed_instance_id"],
            known_instance_id=params["known_instance_id"],
            address=params["connection_address"],
            known_region=known_region,
            api_region=check_region(api_region, "region"),
        )
    module.exit(
        changed=False,
        instance_id=proven.instance_id,
        region=proven.region,
        region_source=proven.region_source,
        regions_searched=proven.regions_searched,
        account_id=proven.account_id,
        proven_by=proven.proven_by,
        proof=proven.proof,
        addresses=proven.addresses,
    )


if __name__ == "__main__":
    main()
