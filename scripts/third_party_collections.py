# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installs the other collections the tests and playbooks use (amazon.aws, community.aws) into a collections root.

They come from the pinned ``ansible`` package's wheel, extracted collection by collection: the whole package is
about 500 MB in 43,000 files and took a minute of pip on a 2-core machine, for two collections the tests use
(amazon.aws side by side with ours, in the integration targets; community.aws in the events playbooks).

    python scripts/third_party_collections.py ROOT    ROOT/ansible_collections/amazon/aws, .../community/aws

A stamp of the pin and the collection list skips the work when nothing changed. pip's cache (PIP_CACHE_DIR) keeps
the wheel, so a second checkout extracts without downloading.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ANSIBLE_PACKAGE = "ansible==12.3.0"
COLLECTIONS = ("amazon.aws", "community.aws")


def wanted_stamp() -> str:
    return hashlib.sha256(f"{ANSIBLE_PACKAGE} {' '.join(COLLECTIONS)}".encode()).hexdigest()


def download_wheel(into: Path) -> Path:
    subprocess.run(  # noqa: S603 - our own interpreter and a constant pin
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary", ":all:", "--dest", str(into), ANSIBLE_PACKAGE],
        check=True,
    )  # fmt: skip
    wheels = sorted(into.glob("ansible-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel of {ANSIBLE_PACKAGE} in {into}, found {[w.name for w in wheels]}")
    return wheels[0]


def extract(wheel: Path, collection: str, target: Path) -> int:
    """The files of one collection, under target/ansible_collections/NAMESPACE/NAME; the number extracted."""
    namespace, name = collection.split(".")
    prefix = f"ansible_collections/{namespace}/{name}/"
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if not member.filename.startswith(prefix) or member.is_dir():
                continue
            relative = Path(member.filename)
            # A wheel is pinned and hashed by pip, but a path that climbs out is refused all the same.
            if ".." in relative.parts or relative.is_absolute():
                raise SystemExit(f"refusing {member.filename!r} in {wheel.name}")
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, destination.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            count += 1
    if not count:
        raise SystemExit(f"{wheel.name} holds no {collection}")
    return count


def main(root: Path) -> None:
    stamp = root / ".third-party.sha256"
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == wanted_stamp():
        return
    with tempfile.TemporaryDirectory() as scratch:
        wheel = download_wheel(Path(scratch) / "wheel")
        staged = Path(scratch) / "staged"
        counts = {collection: extract(wheel, collection, staged) for collection in COLLECTIONS}
        for collection in COLLECTIONS:
            namespace, name = collection.split(".")
            destination = root / "ansible_collections" / namespace / name
            if destination.is_symlink() or destination.is_file():
                destination.unlink()
            elif destination.exists():
                shutil.rmtree(destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staged / "ansible_collections" / namespace / name), str(destination))
    stamp.write_text(wanted_stamp() + "\n", encoding="utf-8")
    print(f"==> {', '.join(f'{c} ({n} files)' for c, n in counts.items())} from {ANSIBLE_PACKAGE} into {root}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} COLLECTIONS_ROOT")
    main(Path(sys.argv[1]))
