# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_playbook: one ansible-playbook run against localhost from a pytest test, with the collection from the checkout.

The integration targets themselves run under ansible-test (scripts/integration.sh, targets/*/runme.sh); the pytest
tests here drive ansible-playbook for what a target cannot do: compare runs (check mode against a real run),
and search the output for secrets the emulator holds in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TARGETS_DIR = Path(__file__).resolve().parent / "targets"
REPO_ROOT = TARGETS_DIR.parent.parent.parent


def run_playbook(
    playbook: Path, extra_vars: dict, verbosity: str = "-vvv", env: dict | None = None, inventory: str = "localhost,"
):
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
        inventory,
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars}),
        str(playbook),
    ]
    if verbosity:
        command.append(verbosity)
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
