# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""AWS SDKs and tools on a host that are too old for IMDSv2. Private to the collection: not a public API.

The minimum versions are AWS's, from "Use a supported AWS SDK" (:data:`SOURCE`). Each row of :data:`READINESS`
says what, how it is found on disk, the minimum and the fix; the walk (:func:`scan`) looks where the SDKs really
live and is bounded by :class:`ScanLimits`: it never follows a symbolic link (so no loop), and stops at a depth,
a number of entries, bytes read and wall time, saying which. An SDK whose version cannot be read, or is not written
in the grammar of :mod:`.versions`, is reported as ``unknown``, never as ready.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import sys
import time
from dataclasses import dataclass, field
from glob import glob
from typing import BinaryIO, Iterator

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.scrub import scrub_tokens
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.versions import READY, verdict
from ansible_collections.ec2meta.imds.plugins.module_utils._host_files import open_regular
from ansible_collections.ec2meta.imds.plugins.module_utils._json import load_json

SOURCE = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/use-a-supported-sdk-version-for-imdsv2.html"


@dataclass(frozen=True)
class SdkRow:
    key: str  # what the finders report
    what: str  # AWS's name for it
    how_found: str
    minimum: str
    fix: str


READINESS = (
    SdkRow(
        "awscli",
        "AWS CLI (version 1)",
        "the awscli Python package (*.dist-info, *.egg-info, *.egg), pip or the bundled installer (/usr/local/aws)",
        "1.16.289",
        "pip install --upgrade 'awscli>=1.16.289', or replace it with AWS CLI version 2 (every version supports "
        "IMDSv2)",
    ),
    SdkRow(
        "powershell",
        "AWS Tools for Windows PowerShell",
        "module directories AWSPowerShell/<version>, AWSPowerShell.NetCore/<version>, AWS.Tools.Common/<version>",
        "4.0.1.0",
        "Update-Module AWSPowerShell (or AWS.Tools.Common) to 4.0.1.0 or later",
    ),
    SdkRow(
        "dotnet",
        "AWS SDK for .NET",
        "NuGet package directories awssdk.core/<version>, and AWSSDK.Core/<version> in *.deps.json",
        "3.3.634.1",
        "upgrade the AWSSDK.Core NuGet package to 3.3.634.1 or later and redeploy the application",
    ),
    SdkRow(
        "cpp",
        "AWS SDK for C++",
        "aws/core/VersionConfig.h (AWS_SDK_VERSION_STRING) and aws-cpp-sdk-core.pc",
        "1.7.229",
        "rebuild the program against aws-sdk-cpp 1.7.229 or later",
    ),
    SdkRow(
        "go",
        "AWS SDK for Go",
        "the module list Go embeds in binaries (dep github.com/aws/aws-sdk-go), the module cache "
        "(pkg/mod/github.com/aws/aws-sdk-go@<version>) and vendor/modules.txt",
        "1.25.38",
        "go get github.com/aws/aws-sdk-go@v1.25.38 (or later), rebuild and redeploy the binary",
    ),
    SdkRow(
        "go-v2",
        "AWS SDK for Go v2",
        "the module list Go embeds in binaries (dep github.com/aws/aws-sdk-go-v2), the module cache "
        "(pkg/mod/github.com/aws/aws-sdk-go-v2@<version>) and vendor/modules.txt",
        "0.19.0",
        "go get github.com/aws/aws-sdk-go-v2@latest, rebuild and redeploy the binary",
    ),
    SdkRow(
        "java",
        "AWS SDK for Java",
        "aws-java-sdk-core-<version>.jar and aws-java-sdk-bundle-<version>.jar, also inside .war/.hpi/.jpi/.ear/.jar "
        "archives and Jenkins WEB-INF/lib directories; Maven repository directories "
        "com/amazonaws/aws-java-sdk-{core,bundle}/<version>",
        "1.11.678",
        "upgrade com.amazonaws:aws-java-sdk-core to 1.11.678 or later",
    ),
    SdkRow(
        "java2",
        "AWS SDK for Java 2.x",
        "sdk-core-2.<version>.jar, also inside archives and WEB-INF/lib directories; Maven repository directories "
        "software/amazon/awssdk/sdk-core/<version>",
        "2.10.21",
        "upgrade software.amazon.awssdk (the BOM or sdk-core) to 2.10.21 or later",
    ),
    SdkRow(
        "javascript",
        "AWS SDK for JavaScript in Node.js",
        "node_modules/aws-sdk/package.json",
        "2.722.0",
        "npm install aws-sdk@^2.722.0, or move to the v3 clients (@aws-sdk/*), which all support IMDSv2",
    ),
    SdkRow(
        "php",
        "AWS SDK for PHP",
        "aws/aws-sdk-php in vendor/composer/installed.json or composer.lock",
        "3.147.7",
        "composer require 'aws/aws-sdk-php:^3.147.7'",
    ),
    SdkRow(
        "botocore",
        "AWS SDK for Python (Botocore)",
        "the botocore Python package (*.dist-info, *.egg-info, *.egg)",
        "1.13.25",
        "pip install --upgrade 'botocore>=1.13.25' (with boto3 1.12.6 or later)",
    ),
    SdkRow(
        "boto3",
        "AWS SDK for Python (Boto3)",
        "the boto3 Python package (*.dist-info, *.egg-info, *.egg)",
        "1.12.6",
        "pip install --upgrade 'boto3>=1.12.6'",
    ),
    SdkRow(
        "ruby",
        "AWS SDK for Ruby",
        "gems/aws-sdk-core-<version> directories",
        "3.79.0",
        "bundle update aws-sdk-core (3.79.0 or later; version 2 of the SDK has no IMDSv2 on AWS's list)",
    ),
)
ROWS = {row.key: row for row in READINESS}


@dataclass(frozen=True)
class ScanLimits:
    max_depth: int = 20
    max_entries: int = 200_000
    max_seconds: float = 60.0
    # Bytes read from files: manifests, headers, archive directories and binaries, all together.
    max_read_bytes: int = 1024 * 1024 * 1024
    max_text_file_bytes: int = 16 * 1024 * 1024
    max_binary_bytes: int = 256 * 1024 * 1024
    max_archive_entries: int = 100_000
    # A central directory entry is 46 bytes and its name; 100,000 entries with long paths take some 20 MiB.
    max_central_directory_bytes: int = 32 * 1024 * 1024
    max_findings: int = 1000
    max_unreadable: int = 20


# ---------------------------------------------------------------------------------------------------------------
# Finders: from one directory entry, the (row key, version, how) they see. A version of None means "this SDK,
# version unreadable".


# <name>[-<version>[-py<X.Y>[-<platform>]]] then .dist-info, .egg-info or .egg: pip and setuptools write a '-'
# only between these parts (one in a name or a version becomes '_'), so the name ends at the first '-', and whatever
# stands for the version is the grammar's to judge (botocore-1.13.25-1.dist-info is botocore, version unknown).
_PYTHON_DIST_SUFFIXES = (".dist-info", ".egg-info", ".egg")
_EGG_PYTHON_TAG = re.compile(r"py[0-9][0-9.]*\Z")
_PYTHON_NAMES = {"botocore": "botocore", "boto3": "boto3", "awscli": "awscli"}
# A manifest's one Version line (METADATA, PKG-INFO, pkg-config): the whole value, so "1.13.25 x" is not 1.13.25.
_MANIFEST_VERSION = re.compile(rb"^Version:[ \t]*(\S{1,64})[ \t]*\r?$", re.MULTILINE)
_JAR = (
    (re.compile(r"aws-java-sdk-(?:core|bundle)-([0-9].*?)\.jar\Z", re.DOTALL), "java"),
    (re.compile(r"sdk-core-(2\..*?)\.jar\Z", re.DOTALL), "java2"),
)
# Maven classifiers of jars that hold no code the SDK runs: its sources, its API docs, its tests.
_JAR_CLASSIFIER = re.compile(r"-(?:sources|javadoc|tests|test-sources)\Z")
# Maven's local repository (~/.m2/repository/<group path>/<artifact>/<version>/): the last segment of the group,
# the artifact -> row key. Its version directory is the install, whatever files it holds.
_MAVEN_ARTIFACTS = {
    ("amazonaws", "aws-java-sdk-core"): "java",
    ("amazonaws", "aws-java-sdk-bundle"): "java",
    ("awssdk", "sdk-core"): "java2",
}
# Go's module cache (<GOMODCACHE>/github.com/aws/<module>@<version>/) and vendor/modules.txt. Only the SDKs' root
# modules carry the version AWS's minimum names; aws-sdk-go-v2's other modules are versioned on their own.
_GO_MODULES = {"aws-sdk-go": "go", "aws-sdk-go-v2": "go-v2"}
_GO_MODULE_DIRECTORY = re.compile(r"(?P<module>aws-sdk-go(?:-v2)?)@(?P<version>.+)\Z", re.DOTALL)
_GO_VENDORED = re.compile(rb"^# github\.com/aws/(aws-sdk-go(?:-v2)?) (\S{1,100})(.*)$", re.MULTILINE)
_ARCHIVE = re.compile(r".+\.(?:war|hpi|jpi|ear|jar)\Z", re.IGNORECASE)
_POWERSHELL_MODULES = {"awspowershell", "awspowershell.netcore", "aws.tools.common"}
# A NuGet or PowerShell version directory starts with a digit; what follows is the grammar's to judge.
_VERSION_DIRECTORY = re.compile(r"[0-9]")
_RUBY_GEM = re.compile(r"aws-sdk-core-([0-9].*)\Z", re.DOTALL)
# Whatever stands after the name, up to the closing quote, is the grammar's to judge.
_DEPS_JSON = re.compile(rb'"AWSSDK\.Core/([^"\\\n]{1,64})"', re.IGNORECASE)
_CPP_VERSION_H = re.compile(rb'AWS_SDK_VERSION_STRING\s+"(\d[\w.\-]{0,40})"')
_GO_DEP = re.compile(rb"(dep|=>)\tgithub\.com/aws/aws-sdk-go(-v2)?\t(v\d[\w.\-+]{0,80})")
_GO_PACKAGE_MARKERS = (
    (b"github.com/aws/aws-sdk-go/aws/ec2metadata", "go"),
    (b"github.com/aws/aws-sdk-go-v2/aws/ec2metadata", "go-v2"),
)
_EXECUTABLE_MAGIC = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
_NOT_GO = re.compile(r"\.(?:so(?:\.\d+)*|py|pyc|sh|pl|rb|js|jar|txt|json)\Z")
# Pseudo file systems a walk of / must not descend into.
_PSEUDO = ("/proc", "/sys", "/dev", "/run")


@dataclass
class _Scan:
    limits: ScanLimits
    deadline: float
    entries: int = 0
    bytes_read: int = 0
    stopped: str | None = None
    unreadable: list = field(default_factory=list)
    unreadable_count: int = 0
    findings: dict = field(default_factory=dict)
    seen: int = 0
    # Directories below max_depth that were not entered: what they hold is unknown.
    not_entered: int = 0
    # Jars inside archives, not opened (a fat or shaded jar may bundle the SDK): the first few, and how many.
    not_inspected: list = field(default_factory=list)
    not_inspected_count: int = 0

    def over(self) -> bool:
        if self.stopped is None:
            if self.entries > self.limits.max_entries:
                self.stopped = "max_entries"
            elif self.bytes_read > self.limits.max_read_bytes:
                self.stopped = "max_read_bytes"
            elif len(self.findings) >= self.limits.max_findings:
                self.stopped = "max_findings"
            elif time.monotonic() > self.deadline:
                self.stopped = "max_seconds"
        return self.stopped is not None

    def cannot_read(self, path: str, error: BaseException) -> None:
        self.unreadable_count += 1
        if len(self.unreadable) < self.limits.max_unreadable:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            reason = reason or error.__class__.__name__
            self.unreadable.append({"path": scrub_tokens(path), "error": scrub_tokens(str(reason)[:200])})

    def read_head(self, path: str, size: int) -> bytes | None:
        """The first ``size`` bytes of a file (within the byte budget); None when it cannot be read."""
        size = min(size, max(0, self.limits.max_read_bytes - self.bytes_read))
        try:
            with open_regular(path) as stream:
                data = stream.read(size)
        except OSError as error:
            self.cannot_read(path, error)
            return None
        self.bytes_read += len(data)
        return data

    def found(self, key: str, version: str | None, where: str, how: str) -> None:
        self.seen += 1
        row = ROWS[key]
        status = verdict(version, row.minimum)
        if status == READY:
            return
        where = scrub_tokens(where)
        fix = row.fix
        plugin = _jenkins_plugin(where)
        if plugin:
            fix = f"update the Jenkins plugin {plugin} (Manage Jenkins > Plugins), which bundles it; or {fix}"
        self.findings.setdefault(
            (key, where),
            {
                "what": row.what,
                "sdk": key,
                "where": where,
                "version": None if version is None else scrub_tokens(version),
                "minimum": row.minimum,
                "status": status,
                "how_found": how,
                "fix": fix,
                "source": SOURCE,
            },
        )


_JENKINS_PLUGIN = re.compile(r"/plugins/([^/!]+?)(?:\.[hj]pi!|/WEB-INF/lib/)")


def _jenkins_plugin(where: str) -> str | None:
    """The Jenkins plugin a path belongs to: <JENKINS_HOME>/plugins/<name>/WEB-INF/lib/... or <name>.hpi!/..."""
    match = _JENKINS_PLUGIN.search(where)
    return match.group(1) if match else None


def _python_dist_name(name: str) -> tuple:
    """(package, version or None) from a .dist-info, .egg-info or .egg name (see _PYTHON_DIST_SUFFIXES)."""
    stem = name.rsplit(".", 1)[0]
    package, _dash, rest = stem.partition("-")
    parts = rest.split("-") if rest else []
    tag = next((index for index, part in enumerate(parts) if index and _EGG_PYTHON_TAG.match(part)), len(parts))
    return package.lower().replace("_", "-"), "-".join(parts[:tag]) or None


def _python_dist(scan: _Scan, path: str, name: str) -> None:
    package, version = _python_dist_name(name)
    key = _PYTHON_NAMES.get(package)
    if key is None:
        return
    if version is None:
        version = _metadata_version(scan, path)
    scan.found(key, version, path, "Python package metadata")


def _manifest_version(data: bytes) -> str | None:
    """The value of a manifest's Version line; None without one, or with two that differ."""
    versions = set(_MANIFEST_VERSION.findall(data))
    return versions.pop().decode("ascii", "replace") if len(versions) == 1 else None


def _metadata_version(scan: _Scan, path: str) -> str | None:
    candidates = ("METADATA", "PKG-INFO", os.path.join("EGG-INFO", "PKG-INFO"), "")
    for candidate in (os.path.join(path, name) if name else path for name in candidates):
        if os.path.isfile(candidate):
            return _manifest_version(scan.read_head(candidate, 64 * 1024) or b"")
    return None


def _jar_name(scan: _Scan, path: str, name: str, how: str) -> bool:
    for pattern, key in _JAR:
        match = pattern.match(name)
        if match:
            version = match.group(1)
            # A jar in a Maven version directory is that directory's install, counted there; a sources, javadoc or
            # tests jar runs no SDK code.
            counted = _maven_version_directory(os.path.dirname(path)) == (key, version)
            if not counted and not _JAR_CLASSIFIER.search(version):
                scan.found(key, version, path, how)
            return True
    return False


def _maven_version_directory(path: str) -> tuple | None:
    """(row key, version) when ``path`` is <group>/<artifact>/<version> of an SDK in a Maven repository."""
    rest, version = os.path.split(path)
    rest, artifact = os.path.split(rest)
    key = _MAVEN_ARTIFACTS.get((os.path.basename(rest), artifact))
    return (key, version) if key and version else None


class ArchiveError(ValueError):
    """An archive whose directory is malformed, or larger than a limit (named in the message)."""


# The zip records read here (APPNOTE.TXT 4.3.12 to 4.3.16): their signatures and fixed-size layouts.
_END = struct.Struct("<4s4H2LH")
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_ENTRY = struct.Struct("<4s6H3L5H2L")
_MAX_COMMENT = 0xFFFF


def _central_directory(stream: BinaryIO, limits: ScanLimits) -> tuple:
    """(entries, offset, size) of a zip's central directory, from its end records only; :class:`ArchiveError`
    when they are malformed or claim more entries or bytes than the limits allow, before the directory is read."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - _END.size - _MAX_COMMENT))
    tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        raise ArchiveError("not a zip archive (no end of central directory)")
    end_offset = size - len(tail) + at
    _sig, _disk, _cd_disk, _here, entries, cd_size, cd_offset, _comment = _END.unpack_from(tail, at)
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF) and end_offset >= _END64_LOCATOR.size:
        stream.seek(end_offset - _END64_LOCATOR.size)
        locator = stream.read(_END64_LOCATOR.size)
        if locator[:4] == b"PK\x06\x07":
            end_offset = _END64_LOCATOR.unpack(locator)[2]
            # A claim checked against the file before it is used: seek() past 2**63 raises ValueError.
            if end_offset > size - _END64.size:
                raise ArchiveError("a zip64 end of central directory locator that points outside the file")
            stream.seek(end_offset)
            record = stream.read(_END64.size)
            if len(record) < _END64.size or record[:4] != b"PK\x06\x06":
                raise ArchiveError("a malformed zip64 end of central directory")
            entries, cd_size, cd_offset = _END64.unpack(record)[7:10]
    if entries > limits.max_archive_entries:
        raise ArchiveError(f"over max_archive_entries ({limits.max_archive_entries}): its directory claims {entries}")
    if cd_size > limits.max_central_directory_bytes:
        raise ArchiveError(
            f"over max_central_directory_bytes ({limits.max_central_directory_bytes}): its directory claims {cd_size}"
        )
    # Data before the archive (a self-extracting stub) shifts every offset: the directory ends where its end record
    # begins.
    start = end_offset - cd_size
    if start < 0 or cd_offset > start:
        raise ArchiveError("a central directory that does not fit in the file")
    return entries, start, cd_size


def _member_names(directory: bytes, entries: int) -> Iterator[str]:
    """The member names of a central directory, at most ``entries`` of them, each record checked as it is read."""
    at = 0
    for _entry in range(entries):
        signature_end = at + 4
        if len(directory) - at < _CENTRAL_ENTRY.size or directory[at:signature_end] != b"PK\x01\x02":
            raise ArchiveError("a malformed central directory entry")
        name_length, extra_length, comment_length = _CENTRAL_ENTRY.unpack_from(directory, at)[10:13]
        name_at = at + _CENTRAL_ENTRY.size
        name_end = name_at + name_length
        yield directory[name_at:name_end].decode("utf-8", "replace")
        at = name_at + name_length + extra_length + comment_length


# A shaded jar keeps the SDK's Maven metadata: META-INF/maven/<group>/<artifact>/pom.properties.
_SHADED_POM = re.compile(r"META-INF/maven/(?:[^/]{0,200}\.)?([^./]{1,64})/([^/]{1,64})/pom\.properties\Z")


def _member(scan: _Scan, path: str, member: str) -> None:
    """One member name of an archive: an SDK jar, a shaded SDK (its version is in the member, not read: unknown),
    or a jar whose insides are not read (counted, so the scan does not call itself complete while blind)."""
    where = f"{path}!/{member}"
    if member.endswith(".jar"):
        if not _jar_name(scan, where, member.rsplit("/", 1)[-1], "a jar inside an archive"):
            scan.not_inspected_count += 1
            if len(scan.not_inspected) < scan.limits.max_unreadable:
                scan.not_inspected.append(scrub_tokens(where))
        return
    shaded = _SHADED_POM.match(member)
    key = _MAVEN_ARTIFACTS.get(shaded.groups()) if shaded else None
    if key:
        scan.found(key, None, where, "a shaded copy's pom.properties (its version is inside, not read)")


def _archive(scan: _Scan, path: str) -> None:
    """The SDK jars inside a .war/.hpi/.jpi/.ear (WEB-INF/lib) or a fat .jar (BOOT-INF/lib): from the archive's
    central directory only, nothing is unpacked. Its size and count of entries are checked against the limits
    from the end records before it is read, and it is counted against the byte budget."""
    try:
        with open_regular(path) as stream:
            entries, start, cd_size = _central_directory(stream, scan.limits)
            if scan.bytes_read + cd_size > scan.limits.max_read_bytes:
                scan.stopped = "max_read_bytes"
                return
            stream.seek(start)
            directory = stream.read(cd_size)
        scan.bytes_read += len(directory)
        for index, member in enumerate(_member_names(directory, entries)):
            if index % 4096 == 4095 and scan.over():
                return
            _member(scan, path, member)
    except (OSError, ArchiveError, struct.error, ValueError, OverflowError) as error:
        scan.cannot_read(path, error)


def _go_binary(scan: _Scan, path: str) -> None:
    """Go binaries list their modules (``dep<TAB>path<TAB>version``) as text, in every toolchain format since Go
    1.12 (modules); a binary with the SDK's packages but no module list (GOPATH builds) is reported as unknown."""
    budget = min(scan.limits.max_binary_bytes, max(0, scan.limits.max_read_bytes - scan.bytes_read))
    versions: dict = {}
    markers = set()
    is_go = False
    tail = b""
    try:
        with open_regular(path) as stream:
            head = stream.read(4)
            if not head.startswith(_EXECUTABLE_MAGIC):
                scan.bytes_read += len(head)
                return
            read = len(head)
            while read < budget and not scan.over():
                chunk = stream.read(min(1024 * 1024, budget - read))
                if not chunk:
                    break
                read += len(chunk)
                window = tail + chunk
                is_go = is_go or b"\xff Go buildinf:" in window
                for kind, module, version in _GO_DEP.findall(window):
                    key = "go-v2" if module else "go"
                    if kind == b"=>" or key not in versions:
                        versions[key] = version.decode("ascii", "replace")
                for marker, key in _GO_PACKAGE_MARKERS:
                    if marker in window:
                        markers.add(key)
                tail = window[-256:]
    except OSError as error:
        scan.cannot_read(path, error)
        return
    scan.bytes_read += read
    for key, version in versions.items():
        scan.found(key, _without_v(version), path, "module list embedded in a Go binary")
    if not is_go:
        return
    for key in markers - set(versions):
        scan.found(key, None, path, "SDK packages in a Go binary without a module list")


def _json_file(scan: _Scan, path: str) -> object:
    data = scan.read_head(path, scan.limits.max_text_file_bytes + 1)
    if data is None or len(data) > scan.limits.max_text_file_bytes:
        return None
    return load_json(data.decode("utf-8", "replace"), invalid=None)


def _composer(scan: _Scan, path: str) -> None:
    document = _json_file(scan, path)
    if isinstance(document, dict):
        packages = document.get("packages", [])
        if isinstance(packages, list) and isinstance(document.get("packages-dev"), list):
            packages = packages + document["packages-dev"]
    else:
        packages = document if isinstance(document, list) else []
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and package.get("name") == "aws/aws-sdk-php":
            version = package.get("version")
            scan.found("php", _without_v(version) if isinstance(version, str) else None, path, "Composer metadata")


def _node_package(scan: _Scan, path: str) -> None:
    document = _json_file(scan, path)
    version = document.get("version") if isinstance(document, dict) else None
    scan.found("javascript", version if isinstance(version, str) else None, path, "node_modules package.json")


def _text_version(scan: _Scan, path: str, pattern: re.Pattern, key: str, how: str) -> None:
    data = scan.read_head(path, 256 * 1024)
    if data is None:
        return
    match = pattern.search(data)
    scan.found(key, match.group(1).decode("ascii", "replace") if match else None, path, how)


def _without_v(version: str) -> str:
    """Go writes versions with a leading v; the findings show them as the other package systems do."""
    return version[1:] if version.startswith("v") else version


def _pkg_config(scan: _Scan, path: str) -> None:
    data = scan.read_head(path, 256 * 1024)
    if data is not None:
        scan.found("cpp", _manifest_version(data), path, "pkg-config file")


def _go_vendored(scan: _Scan, path: str) -> None:
    """vendor/modules.txt: ``# <module> <version>``, and `` => <replacement>`` when the build uses another copy,
    whose version is then unknown."""
    data = scan.read_head(path, scan.limits.max_text_file_bytes) or b""
    for module, version, rest in _GO_VENDORED.findall(data):
        replaced = b"=>" in rest
        text = None if replaced else _without_v(version.decode("ascii", "replace"))
        scan.found(_GO_MODULES[module.decode()], text, path, "Go vendor/modules.txt")


def _directory(scan: _Scan, path: str, name: str, parent: str) -> None:
    lower_parent = parent.lower()
    maven = _maven_version_directory(path)
    go_module = _GO_MODULE_DIRECTORY.match(name) if parent == "aws" else None
    if name.endswith(_PYTHON_DIST_SUFFIXES):
        _python_dist(scan, path, name)
    elif lower_parent == "awssdk.core" and _VERSION_DIRECTORY.match(name):
        scan.found("dotnet", name, path, "NuGet package directory")
    elif lower_parent in _POWERSHELL_MODULES and _VERSION_DIRECTORY.match(name):
        scan.found("powershell", name, path, "PowerShell module directory")
    elif parent == "gems":
        match = _RUBY_GEM.match(name)
        if match:
            scan.found("ruby", match.group(1), path, "installed gem directory")
    elif maven:
        scan.found(*maven, path, "Maven repository directory")
    elif go_module and os.path.basename(os.path.dirname(os.path.dirname(path))) == "github.com":
        version = go_module.group("version")
        scan.found(_GO_MODULES[go_module.group("module")], _without_v(version), path, "Go module cache")


def _file(scan: _Scan, path: str, name: str, parents: tuple, mode: int, binaries: bool) -> None:
    parent, grandparent = parents
    if name.endswith(_PYTHON_DIST_SUFFIXES):
        _python_dist(scan, path, name)
    elif name.endswith(".jar") and _jar_name(scan, path, name, "jar file name"):
        return
    elif name == "package.json" and parent == "aws-sdk" and grandparent == "node_modules":
        _node_package(scan, path)
    elif (name == "installed.json" and parent == "composer") or name == "composer.lock":
        _composer(scan, path)
    elif name.endswith(".deps.json"):
        data = scan.read_head(path, scan.limits.max_text_file_bytes)
        for version in dict.fromkeys(_DEPS_JSON.findall(data or b"")):
            scan.found("dotnet", version.decode("ascii", "replace"), path, "AWSSDK.Core in a .NET deps.json")
    elif name == "VersionConfig.h" and parent == "core" and grandparent == "aws":
        _text_version(scan, path, _CPP_VERSION_H, "cpp", "aws/core/VersionConfig.h")
    elif name == "aws-cpp-sdk-core.pc":
        _pkg_config(scan, path)
    elif name == "modules.txt" and parent == "vendor":
        _go_vendored(scan, path)
    if _ARCHIVE.match(name) and binaries:
        _archive(scan, path)
    elif binaries and mode & 0o111 and not _NOT_GO.search(name):
        _go_binary(scan, path)


def _walk(scan: _Scan, root: str, max_depth: int, binaries: bool) -> None:
    stack = [(root, 0)]
    visited = set()
    while stack and not scan.over():
        directory, depth = stack.pop()
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as entries:
                listing = []
                for entry in entries:
                    scan.entries += 1
                    if scan.entries > scan.limits.max_entries:
                        break
                    listing.append(entry)
        except OSError as error:
            scan.cannot_read(directory, error)
            continue
        parent = os.path.basename(directory)
        grandparent = os.path.basename(os.path.dirname(directory))
        for entry in listing:
            if scan.over():
                return
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:
                scan.cannot_read(entry.path, error)
                continue
            if stat.S_ISDIR(info.st_mode):
                _directory(scan, entry.path, entry.name, parent)
                if depth < max_depth and entry.path not in _PSEUDO:
                    stack.append((entry.path, depth + 1))
                elif max_depth and entry.path not in _PSEUDO:  # a system root is read at its top level by design
                    scan.not_entered += 1
            elif stat.S_ISREG(info.st_mode):
                _file(scan, entry.path, entry.name, (parent, grandparent), info.st_mode, binaries)


def system_roots() -> list:
    """Where Python packages and the bundled AWS CLI usually are: the host Python's own site directories and the
    usual system ones. Only their top level is read (where *.dist-info live), and no binary."""
    patterns = (
        "/usr/lib/python3*/site-packages",
        "/usr/lib/python3*/dist-packages",
        "/usr/lib/python3/dist-packages",
        "/usr/lib64/python3*/site-packages",
        "/usr/local/lib/python3*/site-packages",
        "/usr/local/lib/python3*/dist-packages",
        "/usr/lib/python2.7/site-packages",
        "/usr/lib/python2.7/dist-packages",
        "/usr/local/aws/lib/python*/site-packages",
    )
    roots = [entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))]
    for pattern in patterns:
        roots.extend(sorted(glob(pattern)))
    return list(dict.fromkeys(os.path.normpath(root) for root in roots if os.path.isdir(root)))


def scan(paths: list, include_system: bool = True, limits: ScanLimits = ScanLimits()) -> tuple:
    """(findings, summary): outdated or unreadable SDKs under ``paths`` (walked to ``max_depth``, binaries and
    archives included) and, with ``include_system``, the system Python site directories (top level only)."""
    state = _Scan(limits=limits, deadline=time.monotonic() + limits.max_seconds)
    roots = []
    plan = [(path, False) for path in paths] + [(path, True) for path in (system_roots() if include_system else [])]
    for path, system in plan:
        entry = {"path": path, "system": system, "status": "scanned"}  # the user's option (or ours): not masked
        roots.append(entry)
        if state.over():
            entry["status"] = "not scanned: " + str(state.stopped)
            continue
        if not os.path.lexists(path):
            entry["status"] = "not found"
        elif os.path.isdir(path):
            if not os.access(path, os.R_OK | os.X_OK):
                entry["status"] = "permission denied"
                state.cannot_read(path, PermissionError(13, "Permission denied"))
            else:
                _walk(state, path, 0 if system else limits.max_depth, binaries=not system)
        elif os.path.isfile(path):
            name = os.path.basename(path)
            parent = os.path.dirname(path)
            parents = (os.path.basename(parent), os.path.basename(os.path.dirname(parent)))
            try:
                mode = os.stat(path).st_mode
            except OSError as error:
                entry["status"] = "unreadable"
                state.cannot_read(path, error)
                continue
            if name.endswith(_PYTHON_DIST_SUFFIXES):
                _python_dist(state, path, name)
            else:
                _file(state, path, name, parents, mode, binaries=True)
        else:
            entry["status"] = "not a file or directory"
    summary = {
        "roots": roots,
        "entries_seen": state.entries,
        "bytes_read": state.bytes_read,
        "sdks_seen": state.seen,
        "unreadable": state.unreadable,
        "unreadable_count": state.unreadable_count,
        "stopped": state.stopped or ("max_depth" if state.not_entered else None),
        "directories_not_entered": state.not_entered,
        "archives_not_inspected": state.not_inspected,
        "archives_not_inspected_count": state.not_inspected_count,
        "complete": all(
            (
                state.stopped is None,
                state.not_entered == 0,
                state.not_inspected_count == 0,
                state.unreadable_count == 0,
                all(root["status"] == "scanned" for root in roots),
            )
        ),
        "source": SOURCE,
    }
    findings = sorted(state.findings.values(), key=lambda f: (f["status"] != "outdated", f["what"], f["where"]))
    return findings, summary
