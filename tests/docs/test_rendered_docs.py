# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built docsite renders: the index, each guide and a module page opened in headless Chromium, screenshotted,
and each picture checked; the index and the guides say what they should (titles without markup, the project's
footer, links where a name has a page).

Run by scripts/docs.sh after the Sphinx build (EC2META_DOCS_DIR); the screenshots are left in
.build/docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = Path(os.environ.get("EC2META_DOCS_DIR", REPO_ROOT / ".build" / "docs")).resolve()
HTML = DOCS / "build" / "html" / "collections" / "ec2meta" / "imds"
PAGE = HTML / "metadata_facts_module.html"
INDEX = HTML / "index.html"
GUIDE = HTML / "docsite" / "guide_migrate_from_amazon_aws.html"
EXTRA_DOCS = yaml.safe_load((REPO_ROOT / "docs" / "docsite" / "extra-docs.yml").read_text(encoding="utf-8"))
GUIDES = [entry["ref"] for section in EXTRA_DOCS["sections"] for entry in section["toctree"]]
SCREENSHOTS = {
    "index": INDEX,
    "metadata_facts_module": PAGE,
    **{ref: HTML / "docsite" / f"{ref}.html" for ref in GUIDES},
}
WIDTH, HEIGHT = 1280, 900

pytestmark = pytest.mark.skipif(not PAGE.is_file(), reason="run scripts/docs.sh to build the docsite")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Debian's chromium package is not installed (scripts/docs.sh installs it when apt can)")
    return found


def _png_rows(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the raw scanlines of an 8-bit RGB(A) PNG, with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour = header[0], header[1], header[2], header[3]
    assert depth == 8
    assert colour in (2, 6)
    stride = width * (3 if colour == 2 else 4) + 1
    raw = zlib.decompress(idat)
    return width, height, [raw[i * stride : (i + 1) * stride] for i in range(height)]


def test_rendered_page_has_the_module_docs():
    html = PAGE.read_text(encoding="utf-8")
    assert "ec2meta.imds.metadata_facts module" in html
    assert "gather_subset" in html
    assert "ansible_ec2_instance_id" in GUIDE.read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_index_lists_every_guide_with_its_title_as_written():
    text = _text(INDEX.read_text(encoding="utf-8"))
    for section in EXTRA_DOCS["sections"]:
        for entry in section["toctree"]:
            # without a title, the toctree shows the guide's own heading (the line under its label)
            heading = (REPO_ROOT / "docs" / "docsite" / "rst" / f"{entry['ref']}.rst").read_text().splitlines()[2]
            assert entry.get("title", heading) in text
    # a title is plain text in a toctree: reStructuredText escapes would show as backslashes
    assert "\\_" not in text
    assert "\\-" not in text


@pytest.mark.parametrize("name", sorted(SCREENSHOTS))
def test_footer_names_the_project(name):
    text = _text(SCREENSHOTS[name].read_text(encoding="utf-8"))
    assert "ec2meta.imds contributors" in text
    assert "Ansible contributors" not in text


def test_guides_link_the_role_page():
    for ref in ("guide_user", "migrate_to_imdsv2"):
        assert 'href="../instance_metadata_role.html' in (HTML / "docsite" / f"{ref}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SCREENSHOTS))
def test_page_renders_in_headless_chromium(name):
    page = SCREENSHOTS[name]
    assert page.is_file(), f"{page} was not built"
    shots = DOCS / "screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / f"{name}.png"
    shot.unlink(missing_ok=True)
    # Chromium's profile, caches and certificate store (~/.pki) go under .build/docs, never to the user's home.
    chromium_home = DOCS / "chromium-home"
    chromium_home.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "HOME": str(chromium_home),
        "XDG_CONFIG_HOME": str(chromium_home / "config"),
        "XDG_CACHE_HOME": str(chromium_home / "cache"),
    }
    subprocess.run(
        [
            _chromium(),
            "--headless",
            f"--user-data-dir={chromium_home / 'profile'}",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
        env=environment,
    )
    width, height, rows = _png_rows(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    # A rendered page has text and a styled sidebar: many distinct rows, not a blank or single-colour picture.
    distinct_rows = {row[1:] for row in rows}
    assert len(distinct_rows) > HEIGHT // 10
    print(f"screenshot: {shot}")
