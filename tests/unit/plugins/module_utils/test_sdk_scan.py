# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SDK readiness scan over fixture trees: an old and a current install of each SDK, laid out as each package
system leaves it, written into tmp_path."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import (
    READINESS,
    SOURCE,
    ScanLimits,
    scan,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.versions import older_than

TOKEN = "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="


def write(root: Path, relative: str, content: bytes | str = b"", mode: int | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    if mode is not None:
        path.chmod(mode)
    return path


def go_binary(modules: dict, build_info: bool = True, packages: tuple = ()) -> bytes:
    """An executable as the Go toolchain leaves it: ELF magic, the build-info magic, and the module list as text
    (``dep<TAB>path<TAB>version<TAB>sum``, between the toolchain's 16-byte sentinels)."""
    modinfo = "path\texample.com/agent\nmod\texample.com/agent\t(devel)\t\n" + "".join(
        f"dep\t{path}\t{version}\th1:AAAA=\n" for path, version in modules.items()
    )
    body = b"\x7fELF\x02\x01\x01" + b"\x00" * 64 + b"go1.21.5\x00" + os.urandom(2048)
    if build_info:
        body += b"\xff Go buildinf:\x08\x02" + b"\x00" * 16 + bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
        body += modinfo.encode() + bytes.fromhex("f932433186182072008242104116d8f2")
    for package in packages:
        body += package.encode() + b".(*EC2Metadata).GetMetadata\x00"
    return body + os.urandom(1024)


def zip_bytes(members: list) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, b"PK")
    return buffer.getvalue()


def composer_installed(version: str) -> str:
    return json.dumps(
        {
            "packages": [
                {"name": "guzzlehttp/guzzle", "version": "7.0.0"},
                {"name": "aws/aws-sdk-php", "version": version},
            ]
        }
    )


# (sdk, an old install, a current install): each a function writing the install under a root.
FIXTURES = [
    (
        "botocore",
        lambda r: write(
            r, "venv/lib/python3.8/site-packages/botocore-1.12.253.dist-info/METADATA", "Version: 1.12.253"
        ),
        lambda r: write(r, "venv/lib/python3.8/site-packages/botocore-1.34.0.dist-info/METADATA", "Version: 1.34.0"),
    ),
    (
        "botocore",
        lambda r: write(
            r, "src/botocore.egg-info/PKG-INFO", "Metadata-Version: 2.1\nName: botocore\nVersion: 1.13.24\n"
        ),
        lambda r: write(
            r, "src/botocore.egg-info/PKG-INFO", "Metadata-Version: 2.1\nName: botocore\nVersion: 1.13.25\n"
        ),
    ),
    (
        "boto3",
        lambda r: write(r, "site-packages/boto3-1.9.0-py2.7.egg-info/PKG-INFO", "Version: 1.9.0"),
        lambda r: write(r, "site-packages/boto3-1.12.6.dist-info/METADATA", "Version: 1.12.6"),
    ),
    (
        "awscli",
        lambda r: write(r, "aws/lib/python2.7/site-packages/awscli-1.16.200-py2.7.egg-info", "Version: 1.16.200"),
        lambda r: write(r, "aws/lib/python3.8/site-packages/awscli-1.32.0.dist-info/METADATA", "Version: 1.32.0"),
    ),
    (
        "javascript",
        lambda r: write(
            r, "app/node_modules/aws-sdk/package.json", json.dumps({"name": "aws-sdk", "version": "2.500.0"})
        ),
        lambda r: write(
            r, "app/node_modules/aws-sdk/package.json", json.dumps({"name": "aws-sdk", "version": "2.1500.0"})
        ),
    ),
    (
        "java",
        lambda r: write(r, "jenkins/plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.11.500.jar", b"PK"),
        lambda r: write(r, "jenkins/plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.12.700.jar", b"PK"),
    ),
    (
        "java",
        lambda r: write(
            r, "jenkins/plugins/s3-publisher.hpi", zip_bytes(["WEB-INF/lib/aws-java-sdk-bundle-1.11.100.jar"])
        ),
        lambda r: write(
            r, "jenkins/plugins/s3-publisher.jpi", zip_bytes(["WEB-INF/lib/aws-java-sdk-bundle-1.11.678.jar"])
        ),
    ),
    (
        "java2",
        lambda r: write(r, "opt/app.jar", zip_bytes(["BOOT-INF/lib/sdk-core-2.10.0.jar", "BOOT-INF/classes/x.class"])),
        lambda r: write(r, "opt/lib/sdk-core-2.25.0.jar", b"PK"),
    ),
    (
        "go",
        lambda r: write(r, "bin/agent", go_binary({"github.com/aws/aws-sdk-go": "v1.25.0"}), mode=0o755),
        lambda r: write(r, "bin/agent", go_binary({"github.com/aws/aws-sdk-go": "v1.44.300"}), mode=0o755),
    ),
    (
        "go-v2",
        lambda r: write(r, "bin/tool", go_binary({"github.com/aws/aws-sdk-go-v2": "v0.18.0"}), mode=0o755),
        lambda r: write(
            r,
            "bin/tool",
            go_binary({"github.com/aws/aws-sdk-go-v2": "v1.24.0", "github.com/aws/aws-sdk-go-v2/config": "v0.1.0"}),
            mode=0o755,
        ),
    ),
    (
        "dotnet",
        lambda r: write(r, "home/.nuget/packages/awssdk.core/3.3.600.0/awssdk.core.nuspec", "<package/>"),
        lambda r: write(r, "home/.nuget/packages/awssdk.core/3.7.300.0/awssdk.core.nuspec", "<package/>"),
    ),
    (
        "dotnet",
        lambda r: write(r, "srv/api/Api.deps.json", '{"libraries": {"AWSSDK.Core/3.3.100.5": {"type": "package"}}}'),
        lambda r: write(r, "srv/api/Api.deps.json", '{"libraries": {"AWSSDK.Core/3.3.634.1": {"type": "package"}}}'),
    ),
    (
        "powershell",
        lambda r: write(r, "Modules/AWSPowerShell/3.3.563.1/AWSPowerShell.psd1", "@{}"),
        lambda r: write(r, "Modules/AWS.Tools.Common/4.1.500.0/AWS.Tools.Common.psd1", "@{}"),
    ),
    (
        "php",
        lambda r: write(r, "www/vendor/composer/installed.json", composer_installed("3.100.0")),
        lambda r: write(r, "www/vendor/composer/installed.json", composer_installed("v3.300.0")),
    ),
    (
        "ruby",
        lambda r: write(r, "gems/2.7.0/gems/aws-sdk-core-3.50.0/lib/aws-sdk-core.rb", "# core"),
        lambda r: write(r, "gems/2.7.0/gems/aws-sdk-core-3.190.0/lib/aws-sdk-core.rb", "# core"),
    ),
    (
        "botocore",
        lambda r: write(r, "root/.local/lib/python2.7/site-packages/botocore-1.12.0-py2.7.egg/botocore/__init__.py"),
        lambda r: write(r, "site-packages/botocore-1.13.25-py3.8-linux-x86_64.egg/EGG-INFO/PKG-INFO", "Version: x"),
    ),
    (
        "java",
        lambda r: write(r, ".m2/repository/com/amazonaws/aws-java-sdk-core/1.11.500/aws-java-sdk-core-1.11.500.jar"),
        lambda r: write(
            r, ".m2/repository/com/amazonaws/aws-java-sdk-bundle/1.12.700/aws-java-sdk-bundle-1.12.700.pom"
        ),
    ),
    (
        "java2",
        lambda r: write(r, ".m2/repository/software/amazon/awssdk/sdk-core/2.10.0/_remote.repositories"),
        lambda r: write(r, ".m2/repository/software/amazon/awssdk/sdk-core/2.25.0/sdk-core-2.25.0.jar"),
    ),
    (
        "go",
        lambda r: write(r, "go/pkg/mod/github.com/aws/aws-sdk-go@v1.25.0/go.mod", "module github.com/aws/aws-sdk-go"),
        lambda r: write(r, "go/pkg/mod/github.com/aws/aws-sdk-go@v1.44.300/go.mod"),
    ),
    (
        "go-v2",
        lambda r: write(r, "go/pkg/mod/github.com/aws/aws-sdk-go-v2@v0.18.0/go.mod"),
        lambda r: write(r, "go/pkg/mod/github.com/aws/aws-sdk-go-v2@v1.24.0/go.mod"),
    ),
    (
        "go",
        lambda r: write(r, "src/app/vendor/modules.txt", "# github.com/aws/aws-sdk-go v1.25.0\n## explicit\n"),
        lambda r: write(r, "src/app/vendor/modules.txt", "# github.com/aws/aws-sdk-go v1.25.38\n## explicit\n"),
    ),
    (
        "cpp",
        lambda r: write(r, "usr/include/aws/core/VersionConfig.h", '#define AWS_SDK_VERSION_STRING "1.7.100"\n'),
        lambda r: write(r, "usr/lib/pkgconfig/aws-cpp-sdk-core.pc", "Name: aws-cpp-sdk-core\nVersion: 1.11.200\n"),
    ),
]


def test_every_row_of_the_table_has_a_fixture():
    assert {row.key for row in READINESS} == {sdk for sdk, _old, _new in FIXTURES}


@pytest.mark.parametrize(("sdk", "old", "new"), FIXTURES, ids=[f"{f[0]}-{i}" for i, f in enumerate(FIXTURES)])
def test_an_old_install_is_found_and_a_current_one_is_not(tmp_path, sdk, old, new):
    old_path, new_path = old(tmp_path / "old"), new(tmp_path / "new")
    findings, summary = scan([str(tmp_path / "old"), str(tmp_path / "new")], include_system=False)
    assert [finding["sdk"] for finding in findings] == [sdk]
    finding = findings[0]
    row = next(row for row in READINESS if row.key == sdk)
    assert finding["status"] == "outdated"
    assert finding["minimum"] == row.minimum
    assert finding["what"] == row.what
    # where: the file the version came from, the install directory holding it, or archive!/member
    assert str(old_path).startswith(finding["where"]) or finding["where"].startswith(str(old_path))
    assert older_than(finding["version"], row.minimum) is True
    assert finding["fix"]
    assert finding["source"] == SOURCE
    assert summary["sdks_seen"] == 2
    assert summary["complete"] is True
    assert str(new_path) not in repr(findings)


def test_a_jenkins_plugin_is_named_in_the_fix(tmp_path):
    write(tmp_path, "plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.11.500.jar", b"PK")
    write(tmp_path, "plugins/s3.hpi", zip_bytes(["WEB-INF/lib/aws-java-sdk-core-1.11.100.jar"]))
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert sorted(finding["fix"].split(" (")[0] for finding in findings) == [
        "update the Jenkins plugin aws-java-sdk",
        "update the Jenkins plugin s3",
    ]


def test_a_go_binary_without_a_module_list_is_unknown_not_ready(tmp_path):
    write(
        tmp_path,
        "bin/legacy",
        go_binary({}, packages=("github.com/aws/aws-sdk-go/aws/ec2metadata",)),
        mode=0o755,
    )
    write(tmp_path, "bin/other", go_binary({"golang.org/x/net": "v0.1.0"}), mode=0o755)
    write(tmp_path, "bin/script.sh", "#!/bin/sh\necho github.com/aws/aws-sdk-go/aws/ec2metadata\n", mode=0o755)
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert [(f["sdk"], f["status"], f["version"]) for f in findings] == [("go", "unknown", None)]


def test_an_unreadable_version_is_unknown(tmp_path):
    write(tmp_path, "node_modules/aws-sdk/package.json", "{not json")
    write(tmp_path, "usr/include/aws/core/VersionConfig.h", "/* no version here */")
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert sorted((f["sdk"], f["status"]) for f in findings) == [("cpp", "unknown"), ("javascript", "unknown")]


def test_missing_and_odd_paths_are_reported_not_fatal(tmp_path):
    write(tmp_path, "broken.war", b"this is no zip")
    os.mkfifo(tmp_path / "fifo")
    findings, summary = scan(
        [str(tmp_path / "nowhere"), str(tmp_path / "broken.war"), str(tmp_path / "fifo")], include_system=False
    )
    assert findings == []
    assert [root["status"] for root in summary["roots"]] == ["not found", "scanned", "not a file or directory"]
    assert summary["unreadable"][0]["path"] == str(tmp_path / "broken.war")
    assert summary["complete"] is False


def test_symbolic_links_are_not_followed_so_a_loop_ends(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    write(root, "a/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    write(elsewhere, "node_modules/aws-sdk/package.json", json.dumps({"version": "2.2.0"}))
    (root / "a" / "loop").symlink_to(root)
    (root / "a" / "self").symlink_to(root / "a")
    (root / "a" / "outside").symlink_to(elsewhere)  # name it in scan_paths to scan it
    findings, summary = scan([str(root)], include_system=False)
    assert [finding["version"] for finding in findings] == ["2.1.0"]
    assert summary["complete"] is True


@pytest.mark.parametrize(
    ("limits", "stopped"),
    [
        ({"max_entries": 50}, "max_entries"),
        ({"max_seconds": 1e-9}, "max_seconds"),
        ({"max_findings": 2}, "max_findings"),
    ],
)
def test_a_large_tree_stops_at_a_limit_and_says_so(tmp_path, limits, stopped):
    for index in range(30):
        write(tmp_path, f"app{index}/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    findings, summary = scan(
        [str(tmp_path), str(tmp_path / "app0")], include_system=False, limits=replace(ScanLimits(), **limits)
    )
    assert summary["stopped"] == stopped
    assert summary["complete"] is False
    assert len(findings) < 30
    assert summary["roots"][1]["status"] == f"not scanned: {stopped}"


def test_depth_is_bounded(tmp_path):
    write(tmp_path, "/".join(["d"] * 6) + "/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    assert scan([str(tmp_path)], include_system=False, limits=replace(ScanLimits(), max_depth=3))[0] == []
    assert len(scan([str(tmp_path)], include_system=False)[0]) == 1


def test_a_token_in_a_path_is_not_returned(tmp_path):
    write(tmp_path, f"{TOKEN}/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    findings, summary = scan([str(tmp_path)], include_system=False)
    assert len(findings) == 1
    assert TOKEN not in repr((findings, summary))


def test_system_paths_are_scanned_at_their_top_level(tmp_path):
    findings, summary = scan([], include_system=True)
    assert all(root["system"] for root in summary["roots"])
    assert summary["roots"], "the Python running the tests has a site-packages"
    assert all(finding["status"] in ("outdated", "unknown") for finding in findings)


# Each place a version is written on disk, holding a version the grammar cannot read: each is counted, as unknown.
ODD_VERSIONS = [
    ("botocore", "site-packages/botocore-1.13.25-1.dist-info/METADATA", "Version: 1.13.25-1"),
    ("botocore", "site-packages/botocore.egg-info/PKG-INFO", "Version: 1.13.25-1"),
    ("botocore", "site-packages/botocore.egg-info/PKG-INFO", "Version: 1.13.25 (patched)"),
    ("botocore", "site-packages/botocore.egg-info/PKG-INFO", "Version: 1.12.0\nVersion: 1.13.25\n"),
    ("boto3", "site-packages/boto3-2.x.dist-info/METADATA", "Version: 2.x"),
    ("awscli", "site-packages/awscli-999999999999999999999999.0.dist-info/METADATA", ""),
    ("botocore", "site-packages/botocore-1.13.25garbage-py3.8.egg", b"PK"),
    ("javascript", "node_modules/aws-sdk/package.json", '{"version": "2.x"}'),
    ("javascript", "node_modules/aws-sdk/package.json", '{"version": "2.100.0", "version": "2.800.0"}'),
    ("java", "lib/aws-java-sdk-core-1.11.678garbage.jar", b"PK"),
    ("java", ".m2/repository/com/amazonaws/aws-java-sdk-core/1.11.x/x.pom", ""),
    ("java2", "lib/sdk-core-2.x.jar", b"PK"),
    ("go", "pkg/mod/github.com/aws/aws-sdk-go@v1.25.38-1/go.mod", ""),
    ("go-v2", "pkg/mod/github.com/aws/aws-sdk-go-v2@v1.x/go.mod", ""),
    ("go", "vendor/modules.txt", "# github.com/aws/aws-sdk-go v1.44.0 => ../fork\n"),
    ("dotnet", "packages/awssdk.core/3.3.634.1-x/awssdk.core.nuspec", ""),
    ("powershell", "Modules/AWS.Tools.Common/4.x/AWS.Tools.Common.psd1", ""),
    ("ruby", "gems/aws-sdk-core-3.79.0-x/lib/aws-sdk-core.rb", ""),
    ("php", "vendor/composer/installed.json", composer_installed("3.147.7.x")),
    ("cpp", "lib/pkgconfig/aws-cpp-sdk-core.pc", "Version: 1.7.229 extra\n"),
    ("dotnet", "srv/Api.deps.json", '{"libraries": {"AWSSDK.Core/3.3.634.1 beta": {"type": "package"}}}'),
    ("cpp", "include/aws/core/VersionConfig.h", '#define AWS_SDK_VERSION_STRING "1.7.229garbage"\n'),
]


@pytest.mark.parametrize(("sdk", "relative", "content"), ODD_VERSIONS, ids=[f[1] for f in ODD_VERSIONS])
def test_a_version_outside_the_grammar_is_counted_as_unknown(tmp_path, sdk, relative, content):
    write(tmp_path, relative, content)
    findings, summary = scan([str(tmp_path)], include_system=False)
    assert [(finding["sdk"], finding["status"]) for finding in findings] == [(sdk, "unknown")]
    assert summary["sdks_seen"] == 1


def test_a_maven_version_directory_is_one_install_whatever_jars_it_holds(tmp_path):
    directory = ".m2/repository/com/amazonaws/aws-java-sdk-core/1.11.500"
    for name in ("", "-sources", "-javadoc", "-tests"):
        write(tmp_path, f"{directory}/aws-java-sdk-core-1.11.500{name}.jar", b"PK")
    write(tmp_path, "lib/aws-java-sdk-core-1.11.700-sources.jar", b"PK")
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert [(f["sdk"], f["version"], f["where"]) for f in findings] == [("java", "1.11.500", str(tmp_path / directory))]


@pytest.mark.parametrize(
    "relative",
    [
        "usr/lib/node_modules/aws-sdk/package.json",  # npm install -g
        "app/node_modules/.pnpm/aws-sdk@2.500.0/node_modules/aws-sdk/package.json",  # pnpm's store layout
        "app/node_modules/some-tool/node_modules/aws-sdk/package.json",  # a nested copy of a dependency
    ],
)
def test_each_npm_layout_is_counted(tmp_path, relative):
    write(tmp_path, relative, json.dumps({"name": "aws-sdk", "version": "2.500.0"}))
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert [(f["sdk"], f["status"], f["version"]) for f in findings] == [("javascript", "outdated", "2.500.0")]


# ---------------------------------------------------------------------------------------------------------------
# Issue 28, item 2: archives are bounded by their entries and central directory before it is read.


def end_of_central_directory(entries: int, size: int, offset: int = 0) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(entries, 0xFFFF), min(entries, 0xFFFF), size, offset, 0)


def zip64_claim(entries: int, size: int) -> bytes:
    """The end records of a zip64 archive (a 4-million-entry jar has them) and nothing else."""
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, 0, 1)
    return record + locator + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)


@pytest.mark.parametrize(
    ("content", "limit"),
    [
        (end_of_central_directory(60_000, 3_000_000), "max_archive_entries"),
        (zip64_claim(4_000_000, 200_000_000), "max_archive_entries"),
        (zip64_claim(10, 2**40), "max_central_directory_bytes"),
    ],
    ids=["claims-60000", "zip64-claims-4-million", "zip64-claims-a-tebibyte"],
)
def test_an_archive_claiming_a_huge_directory_is_refused_before_it_is_read(tmp_path, content, limit):
    write(tmp_path, "app/lib/huge.jar", content)
    limits = replace(ScanLimits(), max_archive_entries=50_000)
    findings, summary = scan([str(tmp_path)], include_system=False, limits=limits)
    assert findings == []
    assert summary["complete"] is False
    assert summary["unreadable"][0]["error"].startswith(f"over {limit} (")
    assert summary["bytes_read"] < 1024


def test_an_archive_with_more_entries_than_allowed_is_incomplete_not_cut_short_silently(tmp_path):
    """The old scan kept the first max_archive_entries names and called the scan complete."""
    members = [f"WEB-INF/classes/c{index}.class" for index in range(120)] + ["WEB-INF/lib/aws-java-sdk-core-1.11.0.jar"]
    write(tmp_path, "app.war", zip_bytes(members))
    findings, summary = scan(
        [str(tmp_path)], include_system=False, limits=replace(ScanLimits(), max_archive_entries=100)
    )
    assert findings == []
    assert summary["complete"] is False
    assert summary["unreadable"][0]["error"] == "over max_archive_entries (100): its directory claims 121"


def test_an_archive_after_a_stub_is_read_from_its_own_directory(tmp_path):
    """A self-extracting jar: a launcher script before the archive shifts every offset."""
    write(tmp_path, "app.jar", b"#!/bin/sh\nexec java -jar $0\n" + zip_bytes(["BOOT-INF/lib/sdk-core-2.5.0.jar"]))
    findings, summary = scan([str(tmp_path)], include_system=False)
    assert [(f["sdk"], f["version"], f["where"]) for f in findings] == [
        ("java2", "2.5.0", f"{tmp_path}/app.jar!/BOOT-INF/lib/sdk-core-2.5.0.jar")
    ]
    assert summary["complete"] is True


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_file_swapped_for_a_fifo_or_device_is_not_read(tmp_path, monkeypatch, kind):
    """The walk sees a regular file, then the file is replaced before it is opened: open_regular refuses it."""
    from ansible_collections.ec2meta.imds.plugins.module_utils._callers import sdk_scan

    target = write(tmp_path, "node_modules/aws-sdk/package.json", b"{}")
    real_file = sdk_scan._file

    def swap(scan_state, path, *args):
        if path == str(target):
            target.unlink()
            os.mkfifo(target) if kind == "fifo" else target.symlink_to("/dev/zero")
        return real_file(scan_state, path, *args)

    monkeypatch.setattr(sdk_scan, "_file", swap)

    def expired(_signum, _frame):
        raise TimeoutError("the scan blocked on a FIFO")

    # The old scan blocked on the FIFO for ever: fail instead of hanging the suite.
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    try:
        findings, summary = scan([str(tmp_path)], include_system=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [(f["sdk"], f["status"]) for f in findings] == [("javascript", "unknown")]
    assert summary["unreadable"][0]["error"].startswith("not a regular file but a ")
    assert summary["bytes_read"] == 0


@pytest.mark.parametrize("offset", [2**64 - 16, 2**63, 10**6], ids=["2^64-16", "2^63", "past-the-end"])
def test_a_zip64_locator_pointing_outside_the_file_makes_that_archive_unreadable_not_the_scan(tmp_path, offset):
    """seek() past 2**63 raised ValueError, which escaped the scan and failed the whole module."""
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    write(tmp_path, "a/bad.war", locator + end)
    write(tmp_path, "b/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    findings, summary = scan([str(tmp_path)], include_system=False)
    assert [finding["sdk"] for finding in findings] == ["javascript"]
    assert summary["complete"] is False
    assert summary["unreadable"][0]["path"] == f"{tmp_path}/a/bad.war"


def test_directories_below_max_depth_make_the_scan_incomplete_and_are_counted(tmp_path):
    """They were dropped silently and the scan said complete: true."""
    write(tmp_path, "/".join(["d"] * 6) + "/node_modules/aws-sdk/package.json", json.dumps({"version": "2.1.0"}))
    findings, summary = scan([str(tmp_path)], include_system=False, limits=replace(ScanLimits(), max_depth=3))
    assert findings == []
    assert summary["complete"] is False
    assert summary["stopped"] == "max_depth"
    assert summary["directories_not_entered"] == 1
    assert scan([str(tmp_path)], include_system=False)[1]["complete"] is True


def test_a_scan_root_comes_back_as_given_not_masked(tmp_path, monkeypatch):
    """The user's own scan_paths were masked like text from the host (attack28logs/imds-trace looked like a token)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "tmp/attack28logs/in/a17/imds-trace/x.txt", "")
    _findings, summary = scan(["tmp/attack28logs/in/a17/imds-trace"], include_system=False)
    assert summary["roots"][0]["path"] == "tmp/attack28logs/in/a17/imds-trace"


def test_a_jar_inside_an_archive_that_is_not_an_sdk_jar_makes_the_scan_incomplete(tmp_path):
    """A war holding a fat jar that bundles the SDK (app-fat.jar!/BOOT-INF/lib/aws-java-sdk-core-1.11.500.jar) was
    called complete with no finding: the inner jar is not opened, so the scan says it is blind there."""
    inner = zip_bytes(["BOOT-INF/lib/aws-java-sdk-core-1.11.500.jar"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("WEB-INF/lib/app-fat.jar", inner)
        archive.writestr("WEB-INF/lib/aws-java-sdk-core-1.11.500.jar", b"PK")
    write(tmp_path, "app.war", buffer.getvalue())
    findings, summary = scan([str(tmp_path)], include_system=False)
    assert [finding["version"] for finding in findings] == ["1.11.500"]
    assert summary["archives_not_inspected"] == [f"{tmp_path}/app.war!/WEB-INF/lib/app-fat.jar"]
    assert summary["archives_not_inspected_count"] == 1
    assert summary["complete"] is False


@pytest.mark.parametrize(
    ("member", "sdk"),
    [
        ("META-INF/maven/com.amazonaws/aws-java-sdk-core/pom.properties", "java"),
        ("META-INF/maven/software.amazon.awssdk/sdk-core/pom.properties", "java2"),
    ],
)
def test_a_shaded_sdk_is_reported_with_an_unknown_version(tmp_path, member, sdk):
    """A shaded jar keeps only the SDK's Maven metadata: it was not found at all."""
    write(tmp_path, "shaded-app.jar", zip_bytes([member, "com/amazonaws/internal/EC2MetadataUtils.class"]))
    findings, _summary = scan([str(tmp_path)], include_system=False)
    assert [(finding["sdk"], finding["status"], finding["where"]) for finding in findings] == [
        (sdk, "unknown", f"{tmp_path}/shaded-app.jar!/{member}")
    ]
