# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_credentials_info with return_credentials=true at -vvv: the values are registered, and never printed.

A module can only mask a value by replacing it in its own result (which would empty the registered variable too),
so the collection's action plugin marks a result that carries credentials as no_log. These runs prove both halves:
the play can use the real values, and the -vvv output contains none of them, on success and on failure. A control
run prints one value on purpose, to show the search would find a leak.
"""

from __future__ import annotations

import sys
from pathlib import Path

from imds_emulator import ImdsEmulator

# pytest runs with --import-mode=importlib: the runner next to this file is not importable by name otherwise.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import run_playbook

CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"

REGISTER_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    ec2meta.imds.role_credentials_info:
      endpoint: "{{ imds_endpoint }}"
  tasks:
    - name: Register the role's credentials
      ec2meta.imds.role_credentials_info:
        return_credentials: true
        expected_role: web-server-role
      register: role_creds

    - name: Read what the emulator serves, hidden
      ansible.builtin.uri:
        url: "{{ emulator_control }}/credentials"
        return_content: true
      register: served
      no_log: true

    - name: The registered values are the real ones, not masked
      ansible.builtin.assert:
        that:
          - role_creds.credentials.access_key_id == served.json.AccessKeyId
          - role_creds.credentials.secret_access_key == served.json.SecretAccessKey
          - role_creds.credentials.session_token == served.json.Token
          - role_creds.credentials.expiration == served.json.Expiration
          - role_creds.role_name == 'web-server-role'
        quiet: true

    - name: Ask for credentials with an expectation that fails
      ec2meta.imds.role_credentials_info:
        return_credentials: true
        expected_role: db-role
      register: failed_creds
      ignore_errors: true

    - name: The failure carries no credentials and is shown
      ansible.builtin.assert:
        that:
          - failed_creds is failed
          - failed_creds.credentials is not defined
          - failed_creds.msg is search("expected 'db-role'")
        quiet: true
"""

LEAK_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Register the role's credentials
      ec2meta.imds.role_credentials_info:
        endpoint: "{{ imds_endpoint }}"
        return_credentials: true
      register: role_creds

    - name: Print one of them, as a careless play would
      ansible.builtin.debug:
        var: role_creds.credentials.access_key_id
"""


def run(tmp_path: Path, play: str, emulator: ImdsEmulator):
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(play, encoding="utf-8")
    completed = run_playbook(
        playbook, {"imds_endpoint": emulator.url, "emulator_control": f"{emulator.url}/_emulator"}, verbosity="-vvv"
    )
    return completed, completed.stdout + completed.stderr


def test_returned_credentials_are_registered_but_never_printed(tmp_path):
    with ImdsEmulator() as emulator:
        completed, output = run(tmp_path, REGISTER_PLAY, emulator)
        served = emulator.issued_secrets
        assert completed.returncode == 0, output[-20000:]
        assert len(served) == 3
        leaked = [secret[:8] + "..." for secret in served if secret in output]
        assert not leaked, f"credential values printed at -vvv: {leaked}"
    # The task that returned them is censored as a whole; the failed one is shown with its message.
    assert CENSORED in output
    assert "holds role 'web-server-role', expected 'db-role'" in output
    assert "ok: [localhost]" in output


def test_the_search_finds_a_value_a_play_prints(tmp_path):
    with ImdsEmulator() as emulator:
        completed, output = run(tmp_path, LEAK_PLAY, emulator)
        access_key_id = emulator.credentials["AccessKeyId"]
    assert completed.returncode == 0, output[-20000:]
    assert access_key_id in output
