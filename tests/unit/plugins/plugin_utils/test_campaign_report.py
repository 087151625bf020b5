# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The campaign report: what a person reads, made from untrusted AWS text."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ec2meta.imds.plugins.filter.imdsv2_campaign_report import (
    imdsv2_campaign_html,
    imdsv2_campaign_markdown,
)
from ansible_collections.ec2meta.imds.plugins.plugin_utils import _campaign_report as report

HOSTILE = "evil | name <script>alert(1)</script>\nnext"


def region(**extra):
    return {
        "region": "eu-west-1",
        "summary": {"uses_imdsv1": 1, "ready": 0},
        "instances": [
            {
                "instance_id": "i-1",
                "name": HOSTILE,
                "verdict": "uses_imdsv1",
                "metadata_options": {"http_tokens": "optional"},
                "imdsv1_usage": {"calls": 12, "rejected": 0, "last_seen": "2026-11-30T10:00:00Z"},
            }
        ],
        "launch_templates": [
            {
                "launch_template_id": "lt-1",
                "launch_template_name": "web",
                "verdict": "allows_imdsv1",
                "verdict_reason": "optional",
                "blocks_enforcement": True,
            },
            {"launch_template_id": "lt-2", "verdict": "enforced", "blocks_enforcement": False},
        ],
        **extra,
    }


def test_markdown_has_the_tables_and_blockers_and_escapes_cells():
    text = imdsv2_campaign_markdown({"phase": "audit", "generated": "now", "regions": [region()]})
    assert "Next phase: **instances**" in text
    assert "| eu-west-1 | i-1 | evil \\| name <script>alert(1)</script> next | uses_imdsv1 | 12 | 0 |" in text
    assert "| eu-west-1 | launch_templates | web (lt-1) | allows_imdsv1 | optional |" in text
    assert "lt-2" not in text  # enforced: not a blocker


def test_html_escapes_everything_from_aws():
    text = imdsv2_campaign_html({"phase": "account", "regions": [region()]})
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "This was the last phase." in text


def test_the_report_survives_answers_of_any_shape():
    odd = {"phase": "nonsense", "regions": [{"region": 5, "instances": "x", "summary": None}, "y"], "changes": 3}
    text = report.to_markdown(odd)
    assert "Phase run: **audit**" in text  # an unknown phase reads as the first, never crashes


def test_long_tables_are_capped_and_counted():
    many = region(instances=[{"instance_id": f"i-{n}", "verdict": "unknown"} for n in range(report.MAX_ROWS + 7)])
    text = report.to_markdown({"phase": "audit", "regions": [many]})
    assert f"Instances whose IMDSv1 use is not known ({report.MAX_ROWS + 7})" in text
    assert "... and 7 more." in text


def test_the_filters_refuse_what_is_not_a_report():
    with pytest.raises(AnsibleFilterError, match="take a dict"):
        imdsv2_campaign_markdown(["not", "a", "dict"])


def test_changes_come_from_the_registered_results():
    results = [
        {
            "results": [
                {"changed": True, "instance_id": "i-9", "item": [{"region": "eu-west-1"}, {}]},
                {"skipped": True},
            ]
        },
        {
            "changed": False,
            "failed": True,
            "reason": "enforcement_not_ready",
            "msg": "not ready",
            "region": "us-east-1",
        },
    ]
    rows = report.changes_from(results)
    assert rows == [
        {"region": "eu-west-1", "kind": "instance", "id": "i-9", "change": "http_tokens required"},
        {
            "region": "us-east-1",
            "kind": "account_defaults",
            "id": "us-east-1",
            "change": "refused or failed (enforcement_not_ready): not ready",
        },
    ]


def test_a_template_change_lists_each_old_version_its_successor_and_its_users():
    alias = {"kind": "alias", "moved": True}
    lineage = [
        {
            "old_version": 1,
            "new_version": 3,
            "action": "create",
            "users": [
                {**alias, "name": "$Default", "version": "$Default"},
                {"kind": "auto_scaling_group", "name": "legacy-asg", "version": "1", "moved": False},
            ],
        },
        {
            "old_version": 2,
            "new_version": 4,
            "action": "copy",
            "users": [
                {**alias, "name": "$Latest", "version": "$Latest"},
                {"kind": "auto_scaling_group", "name": "web-asg", "version": "$Latest", "moved": True},
            ],
        },
    ]
    result = {
        "changed": True,
        "launch_template_id": "lt-1",
        "lineage": lineage,
        "aliases": {"$Default": {"before": 1, "after": 3}, "$Latest": {"before": 2, "after": 2}},
        "item": [{"region": "eu-west-1"}, {"launch_template_id": "lt-1"}],
    }
    [row] = report.changes_from([{"results": [result]}])
    assert row["change"] == (
        "v1 → v3 (create): $Default, auto_scaling_group legacy-asg (pinned to v1, not moved); "
        "v2 → v4 (copy): $Latest, auto_scaling_group web-asg; $Default now v3 (was v1); $Latest stays v2"
    )
    failed = {**result, "failed": True, "reason": "unauthorized", "msg": "refused", "versions_created": [3]}
    [row] = report.changes_from([{"results": [failed]}])
    assert row["change"].startswith("refused or failed (unauthorized): refused; done before it: v1 → v3 (create)")
