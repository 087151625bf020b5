# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built docsite renders: a page opened in headless Chromium, screenshotted, and the picture checked.

Run by scripts/docs.sh after the Sphinx build (EC2META_DOCS_DIR); the screenshot is left at
.build/docs/screenshots/metadata_facts_module.png.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = Path(os.environ.get("EC2META_DOCS_DIR", REPO_ROOT / ".build" / "docs")).resolve()
PAGE = DOCS / "build" / "html" / "collections" / "ec2meta" / "imds" / "metadata_facts_module.html"
GUIDE = DOCS / "build" / "html" / "collections" / "ec2meta" / "imds" / "docsite" / "guide_migrate_from_amazon_aws.html"
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


def test_page_renders_in_headless_chromium():
    shots = DOCS / "screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / "metadata_facts_module.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}",
            PAGE.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, height, rows = _png_rows(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    # A rendered page has text and a styled sidebar: many distinct rows, not a blank or single-colour picture.
    distinct_rows = {row[1:] for row in rows}
    assert len(distinct_rows) > HEIGHT // 10
    print(f"screenshot: {shot}")
