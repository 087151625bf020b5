# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""SDK version strings, read by one strict grammar. Private to the collection: not a public API.

A version string comes from a file on the host (a package manifest, a directory name, a binary), so it is a claim:
it counts as ready only when it is written the way a package system writes a version. The grammar:

- an optional ``v``;
- the release: one to :data:`MAX_RELEASE_PARTS` dot-separated ASCII integers of at most :data:`MAX_DIGITS`
  digits each (no SDK numbers a release in the billions; ``999999999999999999999999.0`` is not a version);
- at most one suffix, in one of the forms of :data:`SUFFIX_FORMS`; a pre-release or development suffix makes the
  version come before its release (``1.13.25rc1`` is older than ``1.13.25``), a post-release suffix does not.

Anything else is ``unknown``, never ``ready`` and never ``outdated``: ``2.x``, ``1.13.25.x``, ``1.13.25garbage``,
and ``1.13.25-1`` (a distribution's packaging revision: PEP 440 would read it as a post-release, but pip, npm,
Maven and Go never write it so, and it says nothing certain about the upstream code it packages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_RELEASE_PARTS = 6
MAX_DIGITS = 9
# Far longer than any version a package system writes; longer text is not read at all.
MAX_LENGTH = 100

READY = "ready"
OUTDATED = "outdated"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class SuffixForm:
    """A suffix a package system writes after the release numbers. Every named group of ``pattern`` marks a
    pre-release: a version with one of them matched comes before its release numbers."""

    written_by: str
    examples: str
    pattern: str


SUFFIX_FORMS = (
    SuffixForm("every package system: a final release", "1.13.25", r""),
    SuffixForm(
        "pip (PEP 440): pre-, post- and development releases",
        "1.13.25a1, 1.13.25b2, 1.13.25rc1, 1.13.25.post1, 1.13.26.dev0, 3.0.0.pre (RubyGems)",
        r"(?=.)(?:[-_.]?(?P<pre>(?:a|b|c|rc|alpha|beta|pre|preview)(?:[-_.]?[0-9]{1,9})?))?"
        r"(?:[-_.]?post(?:[-_.]?[0-9]{1,9})?)?"
        r"(?:[-_.]?(?P<dev>dev(?:[-_.]?[0-9]{1,9})?))?",
    ),
    SuffixForm(
        "npm (semver), NuGet and Maven pre-releases with a known label",
        "2.722.0-beta.1, 3.7.0-preview, 2.10.21-SNAPSHOT, 2.0.0-M1",
        r"-(?P<pre>(?:alpha|beta|rc|pre|preview|snapshot|dev)(?:[-.]?[0-9]{1,9}){0,3}|m[0-9]{1,9})",
    ),
    SuffixForm(
        "Go pseudo-versions (a commit between tags, a pre-release of the version it names)",
        "v0.0.0-20191109021931-daa7c04131f5, v1.25.39-0.20191115000000-abcdefabcdef",
        r"-(?P<pre>(?:[0-9a-z]{1,20}\.){0,3}[0-9]{14}-[0-9a-f]{12})",
    ),
)
_NUMBER = f"[0-9]{{1,{MAX_DIGITS}}}"
# The release numbers, then everything after them for the suffix forms to read.
_RELEASE = re.compile(rf"v?({_NUMBER}(?:\.{_NUMBER}){{0,{MAX_RELEASE_PARTS - 1}}})(.*)", re.IGNORECASE | re.DOTALL)
_SUFFIXES = tuple(re.compile(form.pattern, re.IGNORECASE | re.ASCII) for form in SUFFIX_FORMS)


@dataclass(frozen=True)
class Version:
    release: tuple
    pre_release: bool


def parse_version(text: object) -> Version | None:
    """The version ``text`` states, or None when it is not written in the grammar (see the module's docstring)."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    match = _RELEASE.fullmatch(text)
    if not match:
        return None
    for suffix in _SUFFIXES:
        form = suffix.fullmatch(match.group(2))
        if form:
            release = tuple(int(part) for part in match.group(1).split("."))
            return Version(release, any(form.groupdict().values()))
    return None


def older_than(version: object, minimum: str) -> bool | None:
    """True when ``version`` comes before ``minimum`` (a pre-release of the minimum does); None when either is not
    a version in the grammar."""
    have, need = parse_version(version), parse_version(minimum)
    if have is None or need is None:
        return None
    width = max(len(have.release), len(need.release))
    numbers = have.release + (0,) * (width - len(have.release))
    wanted = need.release + (0,) * (width - len(need.release))
    if numbers != wanted:
        return numbers < wanted
    return have.pre_release


def verdict(version: object, minimum: str) -> str:
    """:data:`READY`, :data:`OUTDATED` or :data:`UNKNOWN` (also for no version at all)."""
    older = older_than(version, minimum)
    return UNKNOWN if older is None else OUTDATED if older else READY
