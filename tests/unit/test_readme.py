# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""README.md is what Galaxy shows: links that work there, usage before development, the community sections,
and an install line that is true."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
HEADINGS = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)


def test_links_are_absolute():
    # Galaxy renders the README away from the repository: a relative link (or an in-page anchor) goes nowhere
    targets = re.findall(r"\]\(([^)]+)\)", README)
    assert targets
    assert [target for target in targets if not target.startswith("https://")] == []


def test_usage_comes_before_the_development_set_up():
    assert HEADINGS.index("Installing it") < HEADINGS.index("Using it") < HEADINGS.index("Set up and run")
    assert HEADINGS.index("Using it") < HEADINGS.index("Testing")


def test_community_sections_are_there():
    for section in ("Release notes", "Communication", "Support", "Code of Conduct", "Contributing", "Licence"):
        assert section in HEADINGS


def test_pip_line_installs_the_runtime_requirements():
    floors = [
        line.strip()
        for line in (REPO / "meta" / "ee-requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pip_line = next(line for line in README.splitlines() if line.startswith("python3 -m pip install "))
    assert re.findall(r'"([^"]+)"', pip_line) == floors


def test_install_lines_name_the_repository_and_say_galaxy_is_not_an_option_yet():
    assert "is not on Ansible Galaxy yet" in README
    # scripts/release.sh makes no git tag, so the README names none: main, and the version galaxy.yml builds.
    assert f"ansible-galaxy collection install git+{GALAXY['repository']}.git,main" in README
    assert f"git clone {GALAXY['repository']}.git" in README
    assert "--branch" not in README
    assert f"ansible-galaxy collection install ec2meta-imds-{GALAXY['version']}.tar.gz" in README


def test_the_quick_loop_is_named():
    assert "`./scripts/test.sh --quick`" in README


def test_the_two_set_up_commands_are_still_the_only_two():
    block = README[README.index("## Set up and run") :].split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in block.splitlines()] == ["./scripts/demo.sh", "./scripts/test.sh"]


def test_a_newcomer_can_try_it_without_ec2():
    # tests/integration/test_doc_examples.py runs the section's playbook; this keeps the section and its commands.
    section = README[README.index("### Try it without EC2") : README.index("### Gather EC2 facts")]
    assert "tests/emulator/services.py start --state-dir /tmp/ec2meta-try --ec2-instance" in section
    assert "tests/emulator/services.py stop --state-dir /tmp/ec2meta-try" in section
    assert "-e @/tmp/ec2meta-try/services.json" in section
    for variable in ("instance_metadata_imds_endpoint", "instance_metadata_aws_endpoint_url", "`instance_id`"):
        assert variable in section
