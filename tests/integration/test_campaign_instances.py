# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The campaign's instances phase, one task per region: a change refused midway is named in the report as the
one-task-per-instance phase named it, the play fails, and running the phase again changes what is left."""

from __future__ import annotations

import sys
from pathlib import Path

import moto_ec2_gaps
from fleet_builder import story

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_campaign import campaign, tokens


def test_a_refusal_midway_is_named_and_a_rerun_changes_the_rest(tmp_path, moto_endpoint):
    region = "sa-east-1"
    made = story(moto_endpoint, region)
    moto_ec2_gaps.inject_fault("ModifyInstanceMetadataOptions", "UnauthorizedOperation", after=1)
    try:
        run, markdown, _html = campaign(tmp_path, moto_endpoint, "instances", [region])
    finally:
        moto_ec2_gaps.clear_faults()
    assert run.returncode != 0, run.stdout
    assert list(tokens(moto_endpoint, region, made["ready"]).values()).count("required") == 1
    assert f"**A step failed**: Phase instances: {region} i-" in markdown, markdown
    assert "refused or failed \\(unauthorized\\)" in markdown
    assert markdown.count("| instance |") == 3  # the one changed, the two refused

    run, markdown, _html = campaign(tmp_path, moto_endpoint, "instances", [region])
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(tokens(moto_endpoint, region, made["ready"]).values()) == {"required"}
    assert tokens(moto_endpoint, region, made["calling"]) == {made["calling"][0]: "optional"}
    assert markdown.count("| instance |") == 2  # what was left
