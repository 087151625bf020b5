# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every form of a secret, through ansible-playbook at -vvv and into the log file: none is printed or logged.

The emulator serves AWS-shaped credentials (base64 with "/", "+", "=") and quotes them back in the document
(the token as a dict key in LastUpdated, URL-encoded in Type); a hostile STS stand-in quotes them URL-encoded in its
error message, and in the ARN and user id it names. role_credentials_info runs through each of those paths,
success and failure. The output and ANSIBLE_LOG_PATH's file are searched for each secret as it is, URL-encoded
(quote, quote_plus, lower-case escapes) and JSON-escaped. A control task prints a URL-encoded marker on purpose:
the search must find it in both, or it proves nothing.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

from fake_sts import FakeSts
from imds_emulator import ImdsEmulator

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    ec2meta.imds.role_credentials_info:
      endpoint: "{{ imds_endpoint }}"
      sts_region: eu-west-1
  tasks:
    - name: The report (LastUpdated holds the token as a key, Type the token URL-encoded)
      ec2meta.imds.role_credentials_info:
      register: report

    - name: The same in a failure
      ec2meta.imds.role_credentials_info:
        min_remaining: 1000000
      register: expiring
      ignore_errors: true

    - name: STS refuses, quoting the token URL-encoded
      ec2meta.imds.role_credentials_info:
        verify_sts: true
        sts_endpoint_url: "{{ sts_url }}/error"
      register: refused
      ignore_errors: true

    - name: STS names a session made of the token, URL-encoded
      ec2meta.imds.role_credentials_info:
        verify_sts: true
        sts_endpoint_url: "{{ sts_url }}/arn"
      register: other_session
      ignore_errors: true

    - name: Control, printed on purpose
      ansible.builtin.debug:
        msg: "{{ control_marker | urlencode }}"

    - name: Each path ran as intended
      ansible.builtin.assert:
        that:
          - report is succeeded
          - report.type == 'AWS-HMAC ********'
          - expiring.reason == 'credentials_expiring'
          - refused.reason == 'sts_rejected'
          - other_session.reason == 'sts_arn_mismatch'
        quiet: true
"""


def forms(secret: str) -> list[str]:
    lower = quote(secret, safe="")
    for escape in ("%2F", "%2B", "%3D"):
        lower = lower.replace(escape, escape.lower())
    return [secret, quote(secret, safe=""), quote(secret), quote_plus(secret), lower, secret.replace("/", "\\/")]


def aws_shaped(prefix: str, size: int) -> str:
    return prefix + base64.b64encode(os.urandom(size)).decode() + "/+=="


def test_no_form_of_a_secret_reaches_the_output_or_the_log(tmp_path):
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAY, encoding="utf-8")
    log_file = tmp_path / "ansible.log"
    control_marker = "control/marker+" + base64.b32encode(os.urandom(10)).decode()
    with ImdsEmulator() as emulator, FakeSts() as sts:
        secrets = ["ASIA" + base64.b32encode(os.urandom(10)).decode()[:16], aws_shaped("wJalr", 27)]
        secrets.append(aws_shaped("IQoJb3JpZ2luX2VjE", 300))
        emulator.set_credentials(*secrets)
        emulator.credentials["LastUpdated"] = {secrets[2]: 1, quote(secrets[1], safe=""): 2}
        emulator.credentials["Type"] = f"AWS-HMAC {quote_plus(secrets[2])}"
        completed = run_playbook(
            playbook,
            {"imds_endpoint": emulator.url, "sts_url": sts.url, "control_marker": control_marker},
            verbosity="-vvv",
            env={"ANSIBLE_LOG_PATH": str(log_file)},
        )
    output = completed.stdout + completed.stderr
    log = log_file.read_text(encoding="utf-8")
    for where, text in (("output", output), ("log", log)):
        assert quote(control_marker) in text, f"the control is missing from the {where}: the search proves nothing"
        leaked = [
            f"form {number} of {secret[:6]}..."
            for secret in secrets
            for number, form in enumerate(forms(secret))
            if form in text
        ]
        assert not leaked, f"secret forms in the {where}: {leaked}"
    # After the search, so that a leak is reported as one even when the play's own assertions failed too.
    assert completed.returncode == 0, output[-20000:]
