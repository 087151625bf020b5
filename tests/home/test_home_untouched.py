# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing outside the checkout and the temp dir: the demo and the docs step, each run with HOME an empty
directory, must pass and leave that directory empty (ansible's temp dirs, antsibull's log, Chromium's profile and
pip's cache all default to somewhere under ~).

scripts/test.sh runs these as its docs step: the docs are built once, here. The variables that would move those
writes elsewhere are taken out of the environment first, so each script has to set them on its own, as it must
for a user who runs it by hand.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Set by scripts/test.sh for its own steps: a script run by a user has none of them.
MOVES_WRITES = ("ANSIBLE_", "XDG_", "PIP_", "EC2META_DOCS_DIR")


def _run_with_empty_home(script: str, home: Path, timeout: int) -> None:
    home.mkdir()
    environment = {name: value for name, value in os.environ.items() if not name.startswith(MOVES_WRITES)}
    environment["HOME"] = str(home)
    completed = subprocess.run(
        ["bash", f"scripts/{script}"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    print(completed.stdout)
    assert completed.returncode == 0, (
        f"scripts/{script} failed:\n{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}"
    )
    written = sorted(str(path.relative_to(home)) for path in home.rglob("*"))
    assert written == [], f"scripts/{script} wrote into HOME: {written[:20]}"


@pytest.mark.parametrize(("script", "timeout"), [("demo.sh", 600), ("docs.sh", 1200)])
def test_script_leaves_home_empty(script, timeout, tmp_path):
    _run_with_empty_home(script, tmp_path / "home", timeout)
