# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private code says so: every module_utils file and doc fragment opens with the banner (community.crypto's way),
in the domain packages too (their __init__.py stays empty: ansible-test's empty-init)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BANNER = "# Private to ec2meta.imds: not public API, may change in any release."
PRIVATE = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("module_utils", "doc_fragments", "plugin_utils")
    for path in (REPO / "plugins" / folder).rglob("*.py")
    if path.name != "__init__.py"
)


@pytest.mark.parametrize("path", PRIVATE)
def test_private_file_opens_with_the_banner(path):
    head = (REPO / path).read_text(encoding="utf-8").splitlines()[:5]
    assert any(line.startswith(BANNER) for line in head)


PACKAGES = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("module_utils", "plugin_utils")
    for path in (REPO / "plugins" / folder).iterdir()
    if path.is_dir() and path.name != "__pycache__"
)


def test_module_utils_is_grouped_into_private_packages():
    assert {"plugins/module_utils/_imds", "plugins/module_utils/_aws"} <= set(PACKAGES)


@pytest.mark.parametrize("path", PACKAGES)
def test_private_package_is_marked_private_and_has_an_empty_init(path):
    assert path.rsplit("/", 1)[1].startswith("_"), "a package under module_utils is private: its name starts with _"
    init = REPO / path / "__init__.py"
    assert init.is_file()
    assert init.read_text(encoding="utf-8") == ""
