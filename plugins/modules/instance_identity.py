#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance_identity
short_description: Prove who an EC2 host is by verifying its signed instance identity document on the controller
version_added: 1.0.0
description:
  - Reads the instance identity document (C(dynamic/instance-identity/document)) and one of the three signatures
    AWS serves beside it from the Instance Metadata Service on the host, then verifies them B(on the controller)
    against the AWS certificate given in O(certificate).
  - On success returns RV(verified=true) and the signed document, so a play can hand a host secrets only once
    the account, instance, region and image it claims are proven by AWS's signature.
  - "Checks, each failing with a message naming what did not match and a stable C(reason): before the host is
    contacted, O(certificate) is one X.509 certificate in PEM and nothing else, from a regular file of at most
    64 KiB when it is a path (C(invalid_option)); the certificate is valid now (C(certificate_expired),
    C(certificate_not_yet_valid)) and holds the key type of O(signature_type) (C(wrong_certificate_type)); the
    signature is valid for it
    (C(signature_invalid)); for the PKCS#7 forms, the signed content equals the plain document
    (C(content_mismatch)); the O(expected_account_id), O(expected_instance_id), O(expected_region) and
    O(expected_image_id) match (C(identity_mismatch), with C(field)); the instance started no later than the
    controller's time plus 300 seconds of allowed clock skew (C(too_new): no instance starts in the future) and,
    with O(max_age), no more than O(max_age) seconds ago (C(too_old)). A damaged signature, or a signed document
    that is not a JSON object, names a key twice (two C(instanceId) values, which readers would take either
    way), holds C(NaN), C(Infinity), a number beyond a float or an unpaired UTF-16 surrogate escape, or whose
    C(pendingTime) is missing or not an ISO 8601 time (AWS always writes one), fails with C(malformed); a missing
    one with C(not_found)."
  - "B(Threat model): the host is the party being checked, so it is not trusted. The module on the host only
    reads the document and the signature as text; the action plugin verifies them on the controller with the
    certificate the play gives. A compromised or impersonating host can return anything, but it cannot make the
    controller report RV(verified=true) without a document AWS signed: the controller ignores everything the
    host returns except those two texts, ignores certificates embedded in a PKCS#7 blob, and returns the content
    the signature covers. What the signature does not prove: that the host B(is) that instance now. A document and
    its signature are public to anything on the instance and can be copied to another machine; use
    O(max_age) for freshly launched instances, and bind secrets to the instance (for example with its role)
    rather than to this proof alone."
  - Nothing under C(iam/) is read or returned.
author:
  - ec2meta.imds maintainers (@ec2meta)
extends_documentation_fragment:
  # Order matters: on a clash the fragment listed first wins.
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.client
  - ec2meta.imds.action_group
options:
  signature_type:
    description:
      - Which signature to verify.
      - V(rsa2048) is PKCS#7 SignedData, SHA-256 with RSA-2048 (C(dynamic/instance-identity/rsa2048)).
      - V(pkcs7) is PKCS#7 SignedData, SHA-1 with DSA (C(dynamic/instance-identity/pkcs7)).
      - V(signature) is a base64 RSA signature over the SHA-256 hash of the document
        (C(dynamic/instance-identity/signature)).
      - Each is checked with AWS's certificate for that type and the instance's region.
      - Each type accepts only the digest and key AWS documents for it. A signature that names another digest
        (such as SHA-1 in an V(rsa2048) blob) fails with C(signature_invalid), a V(rsa2048) certificate without
        a 2048-bit RSA key with C(wrong_certificate_type).
    type: str
    choices: [rsa2048, pkcs7, signature]
    default: rsa2048
  certificate:
    description:
      - The AWS public certificate to verify the signature with, as PEM text (C(-----BEGIN CERTIFICATE-----)) or
        the path of a file on the B(controller) holding it (relative paths are searched like M(ansible.builtin.copy)'s
        C(src), in the role's or play's C(files/)).
      - It is read and checked on the controller only, before anything runs on the host, and never sent to the host.
        A file must be a regular file of at most 64 KiB holding only the certificate; a private key, a second
        certificate or any other content fails with C(reason=invalid_option), and the message never quotes it.
      - AWS publishes one certificate per region and O(signature_type) in the Amazon EC2 User Guide (see the
        links below). Use the one for the instance's region and the chosen O(signature_type).
      - Required. The collection does not ship AWS's certificates, because it could not obtain them verbatim from
        AWS's own publication when this module was written, and a certificate must never be invented or
        approximated. Copy the certificate from AWS's page into your inventory or a C(files/) directory.
    type: str
    required: true
  expected_account_id:
    description:
      - The AWS account ID the signed document must name (C(accountId)); fails naming the field otherwise.
    type: str
  expected_instance_id:
    description:
      - The instance ID the signed document must name (C(instanceId)), for example from the EC2 API or the
        inventory.
    type: str
  expected_region:
    description:
      - The region the signed document must name (C(region)).
    type: str
  expected_image_id:
    description:
      - The AMI ID the signed document must name (C(imageId)).
    type: str
  max_age:
    description:
      - Fail when the instance started (C(pendingTime) of the signed document) more than this many seconds ago.
      - A C(pendingTime) more than 300 seconds (the clock skew allowed between AWS and the controller) after the
        controller's time fails with C(reason=too_new), with or without this option.
      - For pipelines that hand secrets only to instances they have just launched. C(pendingTime) changes when a
        stopped instance is started again.
    type: int
notes:
  - Every C(expected_*) option that is set must hold a value. An empty or blank one (often an undefined or empty
    variable) fails with C(reason=invalid_option) before anything is read, instead of turning its check off.
  - The document and the signature are read with the shared client options; verification needs the
    C(cryptography) Python library on the controller (a dependency of ansible-core), never on the host, and never
    calls the C(openssl) command.
  - Run without its action plugin (which cannot happen through C(ansible-playbook)), the module returns
    RV(verified=false) and the unverified texts; only the controller ever says V(true).
seealso:
  - module: ec2meta.imds.metadata_facts
    description: EC2 facts, including the identity document as the host reports it (unverified).
  - name: Instance identity documents
    description: The document and its signatures (AWS documentation).
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html
  - name: Verify the instance identity document
    description: AWS's manual check with C(openssl smime -verify), and the public certificates per region.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-iid.html
requirements:
  - cryptography (on the controller)
"""

EXAMPLES = r"""
---
- name: Prove the host is the instance the EC2 API says it is before giving it secrets
  ec2meta.imds.instance_identity:
    certificate: aws-rsa2048-eu-west-1.pem   # AWS's RSA-2048 certificate for eu-west-1, in files/
    expected_account_id: "123456789012"
    expected_instance_id: "{{ ec2_instance_id }}"
    expected_region: eu-west-1
  register: identity

- name: Use what is now proven
  ansible.builtin.debug:
    msg: "{{ identity.document.instanceId }} in {{ identity.document.region }}, image {{ identity.document.imageId }}"

- name: The DSA (pkcs7) form, the certificate given inline, only for an instance launched in the last 10 minutes
  ec2meta.imds.instance_identity:
    signature_type: pkcs7
    certificate: "{{ aws_dsa_certificate_pem }}"
    expected_image_id: ami-0a1b2c3d4e5f60718
    max_age: 600
"""

RETURN = r"""
verified:
  description:
    - V(true) when every check passed. Only the controller sets it; a failed task never returns V(true).
  returned: always
  type: bool
  sample: true
document:
  description:
    - The identity document the signature covers, parsed. For the PKCS#7 forms, the signed content.
  returned: success
  type: dict
  sample:
    accountId: "123456789012"
    architecture: x86_64
    availabilityZone: eu-west-1a
    imageId: ami-0a1b2c3d4e5f60718
    instanceId: i-0a1b2c3d4e5f60718
    instanceType: t3.medium
    pendingTime: "2026-11-20T10:00:00Z"
    privateIp: 172.31.10.20
    region: eu-west-1
    version: "2017-09-30"
signature_type:
  description: The signature that was verified.
  returned: always
  type: str
  sample: rsa2048
certificate:
  description: The certificate the signature was verified with.
  returned: success, and on failures after the certificate was read
  type: dict
  contains:
    subject:
      description: Its subject, as an RFC 4514 string.
      type: str
      sample: CN=Amazon Web Services LLC,O=Amazon Web Services LLC,L=Seattle,ST=Washington,C=US
    issuer:
      description: Its issuer, as an RFC 4514 string.
      type: str
      sample: CN=Amazon Web Services LLC,O=Amazon Web Services LLC,L=Seattle,ST=Washington,C=US
    serial_number:
      description: Its serial number, in hexadecimal.
      type: str
      sample: 6fa975d8eac41f53175d6856e46cff31520d38f1
    not_valid_before:
      description: Start of its validity (UTC).
      type: str
      sample: "2024-01-01T00:00:00Z"
    not_valid_after:
      description: End of its validity (UTC).
      type: str
      sample: "2195-01-01T00:00:00Z"
reason:
  description: On failure, which check failed.
  returned: failure
  type: str
  sample: identity_mismatch
field:
  description: On an expectation or pendingTime failure, the document field that did not match.
  returned: when RV(reason) is C(identity_mismatch), C(too_old) or C(too_new), or C(malformed) for a bad C(pendingTime)
  type: str
  sample: accountId
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.identity_documents import (  # noqa: E402
    IDENTITY_OPTIONS,
    read_identity,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def main() -> None:
    module = ImdsModule(IDENTITY_OPTIONS, imds=True)
    signature_type = module.params["signature_type"]
    client = module.imds_client()
    with module.failures_reported(verified=False, signature_type=signature_type), client:
        texts = read_identity(client, signature_type)
    # Never verified here: the controller (plugins/action/instance_identity.py) checks these texts.
    module.exit(changed=False, verified=False, signature_type=signature_type, **texts)


if __name__ == "__main__":
    main()
