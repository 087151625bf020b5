# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The premise of the ansible_core marker (tests/conftest.py), which decides what scripts/matrix.sh --ci runs on the
other ansible-core versions: a test file that names none of the plugins that load ansible-core reaches only plain
Python. True while no other module_utils or plugin_utils file imports ansible, or imports one of those that do.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = REPO_ROOT / "plugins"
# The shared code that loads ansible-core; the test files that reach it are marked by name (the marker's rule).
LOADS_ANSIBLE = {
    "module_utils/_module.py",
    "plugin_utils/_identity_verification.py",
    "plugin_utils/_campaign_report.py",
}
IMPORTS_ANSIBLE = re.compile(
    r"^\s*(from ansible\.|import ansible\b|from .*\b(_module|_identity_verification) import|import .*\b_module\b)",
    re.MULTILINE,
)
SHARED = sorted(
    str(path.relative_to(PLUGINS))
    for folder in ("module_utils", "plugin_utils")
    for path in (PLUGINS / folder).rglob("*.py")
)


@pytest.mark.parametrize("name", [name for name in SHARED if name not in LOADS_ANSIBLE])
def test_shared_code_does_not_load_ansible_core(name):
    assert not IMPORTS_ANSIBLE.search((PLUGINS / name).read_text(encoding="utf-8")), (
        f"plugins/{name} loads ansible-core: add it to LOADS_ANSIBLE here and to ANSIBLE_CORE_USES in tests/conftest.py"
    )


@pytest.mark.parametrize(
    ("source", "marked"),
    [
        ("from ansible_collections.ec2meta.imds.plugins.modules import probe", True),
        ("from ansible.module_utils.basic import AnsibleModule", True),
        ("def test_x(run_module):", True),
        ("from ansible_collections.ec2meta.imds.plugins.lookup.metadata import LookupModule", True),
        ("from ansible_collections.ec2meta.imds.plugins.module_utils import _module", True),
        ("from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule", True),
        ("from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient", False),
        ("import ansible_collections.ec2meta.imds.plugins.module_utils._facts.build", False),
    ],
)
def test_the_rule_marks_files_that_reach_ansible_core(source, marked, tmp_path, request):
    rules = request.config.pluginmanager.get_plugin(str(REPO_ROOT / "tests" / "conftest.py"))
    path = tmp_path / "test_example.py"
    path.write_text(source + "\n", encoding="utf-8")
    assert rules.touches_ansible_core(path) is marked
