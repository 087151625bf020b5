# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built artifact and the execution environment context, as scripts/artifact.sh leaves them.

Run by scripts/artifact.sh with EC2META_ARTIFACT_DIR set; skipped when that directory was not built.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACT_DIR = Path(os.environ.get("EC2META_ARTIFACT_DIR", REPO_ROOT / ".build" / "artifact"))
RUNTIME = {"requests", "boto3", "botocore"}
# What a user gets: the plugins, the role, the campaign playbook, meta/, the docs, the changelog, the licence,
# Galaxy's manifests.
SHIPPED_TOP_LEVEL = {
    ".ansible-lint",  # galaxy-importer lints the artifact with it (mock_modules of the drain playbook)
    "CHANGELOG.md",
    "FILES.json",
    "LICENSE",
    "MANIFEST.json",
    "README.md",
    "changelogs",
    "docs",
    "extensions",
    "meta",
    "playbooks",
    "plugins",
    "roles",
}

pytestmark = pytest.mark.skipif(
    not list(ARTIFACT_DIR.glob("ec2meta-imds-*.tar.gz")), reason="run scripts/artifact.sh to build the artifact"
)


def requirement_names(lines) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower())
    return names


@pytest.fixture(scope="module")
def artifact() -> tarfile.TarFile:
    (path,) = ARTIFACT_DIR.glob("ec2meta-imds-*.tar.gz")
    with tarfile.open(path) as tar:
        yield tar


def test_artifact_ships_only_user_content(artifact):
    names = artifact.getnames()
    assert {name.split("/", 1)[0] for name in names} <= SHIPPED_TOP_LEVEL
    unwanted = [name for name in names if re.search(r"(^|/)(molecule|__pycache__|tests|\.venv)(/|$)|\.pyc$", name)]
    assert not unwanted


def test_artifact_ships_the_campaign_playbook(artifact):
    # ansible-playbook ec2meta.imds.imdsv2_campaign finds it in playbooks/ of the installed collection.
    assert "playbooks/imdsv2_campaign.yml" in artifact.getnames()


def test_artifact_ships_the_event_source_rulebook_and_drain(artifact):
    # ansible-rulebook finds ec2meta.imds.imds_events (source and rulebook) in extensions/eda/ of the installed
    # collection, and run_playbook ec2meta.imds.drain in playbooks/.
    names = set(artifact.getnames())
    assert "extensions/eda/plugins/event_source/imds_events.py" in names
    assert "extensions/eda/rulebooks/imds_events.yml" in names
    assert "playbooks/drain.yml" in names


def test_artifact_has_no_dev_pins(artifact):
    # Without meta/execution-environment.yml, ansible-builder would install a root requirements.txt.
    names = set(artifact.getnames())
    assert not {name for name in names if re.fullmatch(r"requirements.*\.txt", name)}
    assert "meta/execution-environment.yml" in names
    ee_meta = yaml.safe_load(artifact.extractfile("meta/execution-environment.yml"))
    requirements = artifact.extractfile(ee_meta["dependencies"]["python"]).read().decode().splitlines()
    assert requirement_names(requirements) == RUNTIME
    assert "system" not in ee_meta["dependencies"]


def test_galaxy_metadata_links(artifact):
    info = yaml.safe_load(artifact.extractfile("MANIFEST.json"))["collection_info"]
    for link in ("repository", "documentation", "homepage", "issues"):
        assert (info.get(link) or "").startswith("https://"), link


def test_ee_context_installs_the_artifact():
    context = ARTIFACT_DIR / "ee-context"
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["type"] for c in galaxy["collections"]] == ["file"]
    assert (context / "_build" / "artifact" / "ec2meta-imds.tar.gz").is_file()


def test_ee_context_python_requirements_are_the_runtime_set():
    """What the context's own introspect step (run at build time) collects from the installed artifact."""
    script = ARTIFACT_DIR / "ee-context" / "_build" / "scripts" / "introspect.py"
    completed = subprocess.run(
        [sys.executable, str(script), "introspect", str(ARTIFACT_DIR / "collections")],
        capture_output=True,
        text=True,
        check=True,
    )
    found = yaml.safe_load(completed.stdout.split("---", 1)[1])
    assert requirement_names(found["python"]) == RUNTIME
    assert all("ec2meta.imds" in line for line in found["python"])
    assert not found.get("system")
