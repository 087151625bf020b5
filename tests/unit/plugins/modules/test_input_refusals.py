# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input no metadata path or timeout can have is refused before any request, naming the option."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_PATH_LENGTH
from ansible_collections.ec2meta.imds.plugins.modules import metadata, metadata_facts

BAD_PATHS = [
    "meta-data/instance-id?x=1",
    "meta-data/instance-id#top",
    "meta-data/instance-id\r\nX-Evil: 1",
    "meta-data/instance-id\n",
    "meta-data/\x00instance-id",
    "meta-data/tags/instance/Nämé",
    "meta-data/" + "a" * MAX_PATH_LENGTH,
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=["query", "fragment", "crlf", "lf", "nul", "non-ascii", "long"])
def test_bad_paths_are_refused_before_any_request(run_module, emulator, path):
    result = run_module(metadata, {"endpoint": emulator.url, "path": [path]})
    assert (result["failed"], result["reason"]) == (True, "invalid_option")
    assert result["msg"].startswith("path ")
    assert "\n" not in result["msg"]
    assert "\r" not in result["msg"]
    assert len(result["msg"]) < 400
    assert emulator.counters["total"] == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [("timeout", "nan"), ("timeout", "inf"), ("total_timeout", "nan"), ("total_timeout", "inf")],
)
@pytest.mark.parametrize("module", [metadata, metadata_facts], ids=["metadata", "metadata_facts"])
def test_non_finite_timeouts_are_refused(run_module, emulator, module, option, value):
    args = {"endpoint": emulator.url, option: value}
    if module is metadata:
        args["path"] = "meta-data/instance-id"
    result = run_module(module, args)
    assert (result["failed"], result["reason"]) == (True, "invalid_option")
    assert f"{option}={float(value)!r} must be a finite number" in result["msg"]
    assert emulator.counters["total"] == 0
