# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret hygiene across the whole collection: every module, the lookup and the role, at -vvv, with a JSON fact cache.

One playbook run against an emulator linked to a moto instance (so the role's enforce step really changes what the
emulator answers) uses each plugin the way a deploy would, including gather_facts with the facts module and the
failure paths that format error messages. Then the output, the log file and every file of the fact cache are searched
for every credential value the emulator served. The run must have served some (else the search proves nothing) and the
cache must hold the gathered facts (else there was nothing to search).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from imds_emulator import ImdsEmulator
from services import launch_instance

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

PLAYBOOK = """
- name: Every plugin of the collection, as a deploy would use it
  hosts: localhost
  gather_facts: true
  vars:
    ansible_facts_modules: [ec2meta.imds.metadata_facts]
  module_defaults:
    group/ec2meta.imds.imds:
      endpoint: "{{ imds_endpoint }}"
    ec2meta.imds.metadata_facts:
      endpoint: "{{ imds_endpoint }}"
      flatten: true
  tasks:
    - name: Facts came from gather_facts, and include the role name
      ansible.builtin.assert:
        that:
          - ansible_facts.ec2.instance_id == instance_id
          - ansible_facts.ec2.iam.role_name == 'web-server-role'
          - ansible_ec2_instance_id == instance_id

    - name: Read the whole meta-data tree (credential documents are left out)
      ec2meta.imds.metadata:
        path: meta-data
        recursive: true
      register: tree

    - name: A credential path is refused
      ec2meta.imds.metadata:
        path: meta-data/iam/security-credentials/web-server-role
      register: refused
      ignore_errors: true

    - name: The lookup reads the role's info
      ansible.builtin.debug:
        msg: "{{ lookup('ec2meta.imds.metadata', 'meta-data/iam/info', endpoint=imds_endpoint) }}"

    - name: Probe IMDS
      ec2meta.imds.probe:
        check_ipv6: false

    - name: Check the role
      ec2meta.imds.role_credentials_info:
        expected_role: web-server-role
        min_remaining: 60

    - name: Check a role that is not attached (the failure message is printed)
      ec2meta.imds.role_credentials_info:
        expected_role: db-role
      ignore_errors: true

    - name: Register the credentials (the task result is hidden)
      ec2meta.imds.role_credentials_info:
        return_credentials: true
      register: role_creds

    - name: Show the options before the role enforces them
      ec2meta.imds.metadata_options:
        endpoint_url: "{{ moto_endpoint }}"
        access_key: testing
        secret_key: testing
      check_mode: true

    - name: The emulator's identity certificates
      ansible.builtin.uri:
        url: "{{ imds_endpoint }}/_emulator/identity-certificates"
      register: identity_certificates

    - name: Verify the instance identity
      ec2meta.imds.instance_identity:
        certificate: "{{ identity_certificates.json.current.pkcs7 }}"
        signature_type: pkcs7
        expected_instance_id: "{{ instance_id }}"

    - name: Enforce and verify with the role
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
      vars:
        instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
        instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
        instance_metadata_aws_access_key: testing
        instance_metadata_aws_secret_key: testing
        instance_metadata_tags: enabled
        instance_metadata_expected_role: web-server-role
        # The expected instance id and region come from enforce's EC2 API answer.
        instance_metadata_verify_identity: true
        instance_metadata_identity_certificate: "{{ identity_certificates.json.current.rsa2048 }}"
        # The probe above asked without a token, which counts as IMDSv1 use (as on EC2): switch anyway.
        instance_metadata_imdsv1_usage_check: warn

    - name: The plugins did their work
      ansible.builtin.assert:
        that:
          - tree.value['instance-id'] == instance_id
          - refused is failed
          - role_creds.credentials.access_key_id | length > 0
          - instance_metadata_identity_result.verified
          - instance_metadata_identity_result.document.instanceId == instance_id
"""


def test_no_credential_value_in_output_log_or_fact_cache(tmp_path, moto_endpoint):
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    cache, log = tmp_path / "fact_cache", tmp_path / "ansible.log"
    with ImdsEmulator() as emulator:
        instance = launch_instance({"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True)
        completed = run_playbook(
            playbook,
            {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, "instance_id": instance["instance_id"]},
            env={
                "ANSIBLE_CACHE_PLUGIN": "jsonfile",
                "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache),
                "ANSIBLE_LOG_PATH": str(log),
                "AWS_REGION": instance["region"],
            },
        )
        served = set(emulator.issued_secrets)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-20000:]
    assert len(served) >= 3, "the run read no credentials, so searching for them proves nothing"

    # ansible-core 2.19 names the file s1_localhost and nests the facts as a JSON string; older versions do neither.
    cached = {path.name: path.read_text(encoding="utf-8") for path in cache.iterdir()}
    assert len(cached) == 1, cached.keys()
    facts = json.loads(next(iter(cached.values())))
    facts = json.loads(facts["__payload__"]) if "__payload__" in facts else facts
    assert facts["ec2"]["instance_id"] == instance["instance_id"]
    places = {"output": output, "log": log.read_text(encoding="utf-8"), **cached}
    leaks = {(where, secret[:8] + "...") for where, text in places.items() for secret in served if secret in text}
    assert not leaks, f"credential values found: {sorted(leaks)}"
