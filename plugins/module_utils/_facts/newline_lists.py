# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""IMDS leaves that hold one item a line, read as lists: shared by the typed facts and the flat compat names."""

from __future__ import annotations

from typing import Any


def split_lines(value: Any) -> list | None:
    """A newline list from IMDS (security groups, addresses, CIDR blocks) as a list; None for anything but text."""
    if not isinstance(value, str):
        return None
    return [line.strip() for line in value.split("\n") if line.strip()]
