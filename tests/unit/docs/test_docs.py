# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs site: the generated migration table is current, the extra docs index names files that exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCSITE = REPO_ROOT / "docs" / "docsite"


def _migration_table():
    path = REPO_ROOT / "tests" / "docs" / "migration_table.py"
    spec = importlib.util.spec_from_file_location("migration_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_table_is_what_the_module_returns():
    table = _migration_table()
    text = table.GUIDE.read_text(encoding="utf-8")
    current = text[text.index(table.BEGIN) : text.index(table.END) + len(table.END)]
    assert current == table.generated_table(), "run: python tests/docs/migration_table.py"


def test_migration_table_covers_the_common_names():
    rows = dict(line.split(" => ") for line in _rows(_migration_table().generated_table()))
    assert rows["ansible_ec2_instance_id"] == "ansible_facts.ec2.instance_id"
    assert rows["ansible_ec2_placement_region"] == "ansible_facts.ec2.placement.region"
    assert rows["ansible_ec2_security_groups"] == "ansible_facts.ec2.security_groups"
    assert rows["ansible_ec2_tags_instance_<tag>"] == "ansible_facts.ec2.tags[<tag>]"
    assert not [name for name in rows if "accesskeyid" in name or "secretaccesskey" in name or "token" in name]


def _rows(table: str) -> list[str]:
    lines = [line.strip() for line in table.splitlines() if line.strip().startswith(("* - ``", "- ``"))]
    return [f"{a.split('``')[1]} => {b.split('``')[1]}" for a, b in zip(lines[::2], lines[1::2])]


def test_extra_docs_index_names_existing_pages():
    index = yaml.safe_load((DOCSITE / "extra-docs.yml").read_text(encoding="utf-8"))
    pages = [e["ref"] if isinstance(e, dict) else e for section in index["sections"] for e in section["toctree"]]
    assert pages
    # migrate_to_imdsv2 is written on another branch; every other page must be here
    missing = [page for page in pages if not (DOCSITE / "rst" / f"{page}.rst").is_file()]
    missing = [page for page in missing if page != "migrate_to_imdsv2"]
    assert not missing


def test_every_lookup_client_option_says_how_to_set_it():
    from ansible_collections.ec2meta.imds.plugins.doc_fragments.client import ModuleDocFragment

    options = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]
    assert options
    # a keyword always works; each client option can also come from a variable and the environment
    missing = [name for name, option in options.items() if not option.get("vars") or not option.get("env")]
    assert not missing


GUIDES = sorted((DOCSITE / "rst").glob("*.rst"))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_allow_imdsv1_default_is_the_same_in_the_code_the_option_docs_and_the_guide():
    from ansible_collections.ec2meta.imds.plugins.doc_fragments.client import ModuleDocFragment
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params

    # the code: unset means allowed, unless the SDKs' variable turns IMDSv1 off
    assert client_config_from_params(environ={}).allow_imdsv1 is True
    assert client_config_from_params(environ={"AWS_EC2_METADATA_V1_DISABLED": "true"}).allow_imdsv1 is False
    said = "IMDSv1 is allowed unless E(AWS_EC2_METADATA_V1_DISABLED=true)"
    for fragment in (ModuleDocFragment.DOCUMENTATION, ModuleDocFragment.PLUGINS):
        option = yaml.safe_load(fragment)["options"]["allow_imdsv1"]
        assert "default" not in option
        assert any(said in line for line in option["description"])
    guide = _flat((DOCSITE / "rst" / "guide_troubleshooting.rst").read_text(encoding="utf-8"))
    assert "``allow_imdsv1`` is not set, IMDSv1 is allowed" in guide
    assert "unless ``AWS_EC2_METADATA_V1_DISABLED=true``" in guide
    assert "``allow_imdsv1: false`` (the default" not in guide


def test_guides_link_repository_files_absolutely():
    # tests/ and scripts/ are not in the artifact: a guide names them only with a link to the repository
    for guide in GUIDES:
        text = guide.read_text(encoding="utf-8")
        assert "``tests/" not in text, guide.name
        assert "``scripts/" not in text, guide.name


def test_guides_link_the_role():
    for guide in GUIDES:
        assert "``ec2meta.imds.instance_metadata``" not in guide.read_text(encoding="utf-8"), guide.name
