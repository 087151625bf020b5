# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a release promises agrees with itself: versions, the User-Agent, requires_ansible, the changelog."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.ec2meta.imds.plugins.module_utils._imds import transport as _transport

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
PLUGINS = sorted(
    path
    for folder in ("modules", "lookup", "filter")
    for path in (REPO / "plugins" / folder).glob("*.py")
    if path.stem[0] != "_"
)
# ansible-core versions scripts/matrix.sh tests (the oldest is what requires_ansible must name)
TESTED_CORE = ("2.17", "2.18", "2.19", "2.20", "2.21")


def _version(text: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _documentation(path: Path) -> dict:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(ast.literal_eval(node.value))
    raise AssertionError(f"{path} has no DOCUMENTATION")


def test_user_agent_carries_the_galaxy_version():
    assert f"ec2meta.imds/{GALAXY['version']}" == _transport.USER_AGENT


@pytest.mark.parametrize("path", PLUGINS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_version_added_is_a_released_or_current_version(path):
    documentation = _documentation(path)
    added = str(documentation["version_added"])
    assert _version(added) <= _version(GALAXY["version"]), f"{path.stem} claims {added}, galaxy.yml is older"
    for name, option in documentation.get("options", {}).items():
        if "version_added" in option:
            assert _version(str(option["version_added"])) <= _version(GALAXY["version"]), name


def test_requires_ansible_is_the_oldest_tested_core():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert runtime["requires_ansible"] == f">={TESTED_CORE[0]}.0"
    matrix = (REPO / "scripts" / "matrix.sh").read_text(encoding="utf-8")
    assert re.search(r'cores="' + " ".join(TESTED_CORE) + '"', matrix)


def test_each_release_and_the_unreleased_changes_have_a_release_summary():
    changelog = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    releases = changelog.get("releases") or {}
    for version, release in releases.items():
        assert "release_summary" in release.get("changes", {}), version
    fragments = [yaml.safe_load(path.read_text()) for path in (REPO / "changelogs" / "fragments").glob("*.y*ml")]
    if fragments:
        assert any("release_summary" in fragment for fragment in fragments)
    else:
        assert releases, "no fragments and no release: the changelog says nothing"


def test_galaxy_version_is_released_in_the_changelog_or_pending_in_fragments():
    changelog = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    releases = changelog.get("releases") or {}
    fragments = list((REPO / "changelogs" / "fragments").glob("*.y*ml"))
    # Automation Hub refuses versions below 1.0.0 (scripts/importer.sh checks the artifact the same way)
    if releases:
        assert _version(GALAXY["version"]) >= (1, 0, 0)
        assert str(GALAXY["version"]) in releases or fragments, "galaxy.yml names a version the changelog lacks"
        # antsibull-changelog's Markdown escapes the dots of the heading; its anchor is plain
        anchor = f'<a id="v{str(GALAXY["version"]).replace(".", "-")}"></a>'
        assert anchor in (REPO / "CHANGELOG.md").read_text(encoding="utf-8") or fragments


def test_importer_runs_with_the_checks_automation_hub_turns_on():
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / "tests" / "importer" / "galaxy-importer.cfg")
    section = config["galaxy-importer"]
    for key in ("REQUIRE_V1_OR_GREATER", "CHECK_REQUIRED_TAGS", "RUN_ANSIBLE_LINT", "RUN_FLAKE8", "RUN_ANSIBLE_DOC"):
        assert section.getboolean(key), key
    script = (REPO / "scripts" / "importer.sh").read_text(encoding="utf-8")
    # the importer logs lint and flake8 findings as warnings and exits 0: the script must fail on them itself
    assert "grep -E '^(WARNING|ERROR)'" in script
