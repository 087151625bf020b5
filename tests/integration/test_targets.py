# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs every integration target as a real ansible-playbook run against a fresh emulator and the moto server.

A target is tests/integration/targets/<name>/tasks/main.yml (names starting with setup_ are helpers). It gets
these variables: imds_endpoint (the emulator), emulator_control (its /_emulator control URL), moto_endpoint,
aws_region, and instance_id (the emulator's instance). Every run is at -vvv, and its output is searched for
every credential value the emulator served: no target may leak one, whatever it asserts itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from imds_emulator import ImdsEmulator

TARGETS_DIR = Path(__file__).resolve().parent / "targets"
REPO_ROOT = TARGETS_DIR.parent.parent.parent
TARGETS = sorted(
    path.name for path in TARGETS_DIR.iterdir() if not path.name.startswith("setup_") and (path / "tasks").is_dir()
)


def run_playbook(playbook: Path, extra_vars: dict, verbosity: str = "-vvv", env: dict | None = None):
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections"),
        "ANSIBLE_ROLES_PATH": str(TARGETS_DIR),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        **(env or {}),
    }
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars}),
        str(playbook),
    ]
    if verbosity:
        command.append(verbosity)
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)


@pytest.mark.parametrize("target", TARGETS)
def test_integration_target(target, tmp_path, moto_endpoint):
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(f"- hosts: localhost\n  gather_facts: false\n  roles:\n    - {target}\n", encoding="utf-8")
    with ImdsEmulator() as emulator:
        extra_vars = {
            "imds_endpoint": emulator.url,
            "emulator_control": f"{emulator.url}/_emulator",
            "moto_endpoint": moto_endpoint,
            "aws_region": "eu-west-1",
            "instance_id": emulator.metadata["instance-id"],
        }
        completed = run_playbook(playbook, extra_vars)
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"ansible-playbook failed for {target}:\n{output[-20000:]}"
        leaked = [secret[:8] + "..." for secret in emulator.issued_secrets if secret in output]
        assert not leaked, f"{target} printed credential values at -vvv: {leaked}"
