# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The campaign report: what a person reads, made from untrusted AWS text.

Each kind of sentence the report writes has a test here that it is true for the data it is written from (and one
that the other kinds are not written for that data); the hostile-strings fixture goes through both formats.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ec2meta.imds.plugins.filter.imdsv2_campaign_html import imdsv2_campaign_html
from ansible_collections.ec2meta.imds.plugins.filter.imdsv2_campaign_markdown import imdsv2_campaign_markdown
from ansible_collections.ec2meta.imds.plugins.plugin_utils import _campaign_report as report

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "![x](https://evil.example/pixel.png)",
    "<https://evil.example>",
    "https://evil.example/phish www.evil.example mail@evil.example",
    "a | b | c",
    "line one\nline two\r\n| injected | row |",
    "`code` ``more``",
    "*bold* _em_ **strong** __strong__ ~~del~~",
    "# heading",
    "&lt;script&gt; &amp; &#60;b&#62;",
    "\\[escaped\\]\\",
    "\u2028separator\x00nul\x1bescape",
    "long " * 2000,
    "- a list item",
    "1. a numbered item",
    "    indented code",
    "> a quote",
    "===",
]


def instance(instance_id, verdict, tokens="optional", name="web", **usage):
    return {
        "instance_id": instance_id,
        "name": name,
        "verdict": verdict,
        "metadata_options": {"http_tokens": tokens},
        "imdsv1_usage": usage,
    }


def template(template_id, verdict, blocks, name="web"):
    return {
        "launch_template_id": template_id,
        "launch_template_name": name,
        "verdict": verdict,
        "verdict_reason": f"because {verdict}",
        "blocks_enforcement": blocks,
    }


def region(name="eu-west-1", **extra):
    result = {
        "region": name,
        "summary": {"uses_imdsv1": 1, "ready": 1, "enforced": 1},
        "instances": [
            instance("i-calling", "uses_imdsv1", calls=12, rejected=0, last_seen="2026-11-30T10:00:00Z"),
            instance("i-ready", "ready"),
            instance("i-done", "enforced", tokens="required"),
        ],
        "launch_templates": [template("lt-open", "allows_imdsv1", True), template("lt-done", "enforced", False)],
        "auto_scaling_groups": [],
        "launch_configurations": [],
        "account_defaults": {"http_tokens": None, "http_tokens_enforced": None},
    }
    result.update(extra)
    return result


def md(text):
    return report.md_escape(text)


# ----------------------------------------------------------------------------- hostile strings, both formats


def hostile_report():
    regions = []
    for number, text in enumerate(HOSTILE):
        regions.append(
            region(
                f"eu-west-{number % 3 + 1}",
                instances=[instance(f"i-{number}", "uses_imdsv1", name=text, calls=text, last_seen=text)],
                launch_templates=[template(text, text, True, name=text)],
                auto_scaling_groups=[{"auto_scaling_group_name": text, "verdict": "unknown", "verdict_reason": text}],
                launch_configurations=[{"launch_configuration_name": text, "verdict": "allows_imdsv1"}],
                summary={text: 1},
                launch_path_summary={"launch_templates": {text: 1}},
                account_defaults={"http_tokens": text, "managed_by": text},
                not_audited=text if number % 2 else {"launch_paths": [text], "covered_by": text, "coverage": text},
            )
        )
    regions.append({"failed": True, "item": HOSTILE[0], "reason": HOSTILE[1], "msg": HOSTILE[2]})
    changes = [{"region": text, "kind": text, "name": text, "id": text, "change": text} for text in HOSTILE]
    failures = [{"task": text, "reason": text, "msg": text} for text in HOSTILE]
    return {"phase": "audit", "generated": HOSTILE[0], "regions": regions, "changes": changes, "failures": failures}


class Elements(HTMLParser):
    """Every element and attribute the browser would build."""

    def __init__(self):
        super().__init__()
        self.tags: list = []
        self.attributes: list = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _value in attrs]


def test_html_builds_only_the_reports_own_elements_from_hostile_strings():
    page = imdsv2_campaign_html(hostile_report())
    parser = Elements()
    parser.feed(page)
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p",
                                "strong", "table", "tr", "th", "td", "svg", "rect", "text"}  # fmt: skip
    assert not [name for name in parser.attributes if name.startswith("on") or name in ("href", "src", "xlink:href")]
    assert "<script" not in page.lower()
    assert html.escape(HOSTILE[0]) in page  # shown, as text


MD_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
MD_AUTOLINK = re.compile(r"(?<!\\)<[a-z]+:|(?<![\\\w])(https?://|www\.)|(?<!\\)@\w")
MD_RAW_HTML = re.compile(r"<[A-Za-z!/?]")


def test_markdown_carries_no_raw_html_no_link_and_no_broken_table_from_hostile_strings():
    text = imdsv2_campaign_markdown(hostile_report())
    assert not MD_RAW_HTML.search(text)
    assert not MD_LINK.search(text)
    assert not MD_AUTOLINK.search(text), MD_AUTOLINK.search(text)
    assert "\r" not in text
    assert "\x00" not in text
    assert "\u2028" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            # Every unescaped pipe is a column separator: the row has as many as its header.
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) in {len(h) for h in header_cells(text)}, line[:200]


def header_cells(text):
    lines = text.splitlines()
    return [re.split(r"(?<!\\)\|", lines[i - 1]) for i, line in enumerate(lines) if line.startswith("|---")]


@pytest.mark.parametrize("hostile", HOSTILE[:-1])
def test_markdown_escaping_keeps_the_text(hostile):
    """What a renderer shows after the escapes is the string AWS gave (control characters as spaces)."""
    escaped = md(hostile)
    shown = re.sub(r"\\(.)", r"\1", escaped).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown == re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", hostile)


# ----------------------------------------------------------------------------- one test per sentence kind


def test_top_line_overall_counts_the_blockers_and_the_regions():
    regions = [region("eu-west-1"), region("us-east-1")]
    blockers = sum(len(report.region_blockers(r)) for r in regions)
    assert blockers == 6  # per region: calling, ready (optional), lt-open
    text = report.to_markdown({"phase": "audit", "regions": regions})
    assert "**Ready to enforce: no** — 6 blockers in 2 regions." in text
    assert "## What blocks enforcement \\(6\\)" in text


def test_top_line_per_region_names_the_kinds_of_blocker():
    text = report.to_markdown({"phase": "audit", "regions": [region()]})
    assert "**eu-west-1**: ready to enforce: no — 3 blockers \\(2 instances, 1 launch template\\)." in text


def test_top_line_says_ready_only_when_nothing_blocks():
    clean = region(
        instances=[instance("i-done", "enforced", tokens="required")],
        launch_templates=[template("lt-done", "enforced", False)],
    )
    text = report.to_markdown({"phase": "launch_paths", "regions": [clean]})
    assert "**Ready to enforce: yes** — nothing audited allows IMDSv1 in any region." in text
    assert "**eu-west-1**: ready to enforce: yes" in text
    assert "## What blocks enforcement \\(0\\)" in text
    assert "ready to enforce: no" not in text


def test_top_line_is_unknown_when_an_audit_failed():
    failed = {"failed": True, "item": "us-east-1", "reason": "bad_response", "msg": "odd answer"}
    text = report.to_markdown({"phase": "audit", "regions": [region(), failed]})
    assert "**Ready to enforce: unknown** — the audit failed in us-east-1, and 3 blockers in the others." in text
    assert "**us-east-1**: ready to enforce: unknown — the audit failed \\(bad\\_response\\): odd answer" in text
    assert "Ready to enforce: no" not in text
    assert "Ready to enforce: yes" not in text


def test_top_line_under_enforcement():
    on = region(account_defaults={"http_tokens": "required", "http_tokens_enforced": "enabled"})
    text = report.to_markdown({"phase": "account", "regions": [on]})
    assert "**IMDSv2 is enforced at launch in every region**; 3 blockers still allow IMDSv1." in text
    assert "**The campaign is complete**" in text
    assert (
        "**eu-west-1**: IMDSv2 is enforced at launch \\(http\\_tokens\\_enforced enabled\\); 3 instances or launch "
        "paths still allow IMDSv1 \\(2 instances, 1 launch template\\)." in text
    )
    assert "ready to enforce" not in text.lower()


def test_top_line_without_regions_says_nothing_was_audited():
    text = report.to_markdown({"phase": "audit", "regions": []})
    assert "**Ready to enforce: unknown** — no region was audited." in text


def test_the_instances_phase_targets_are_not_called_its_blockers():
    """Issue 27: the audit listed the next phase's own targets (ready) as what blocks that phase."""
    text = report.to_markdown({"phase": "audit", "regions": [region()]})
    assert "What blocks the next phase" not in text
    assert "it would change 1 instance \\(verdict ready" in text
    row = next(line for line in text.splitlines() if "| i-ready |" in line)
    assert "the instances phase requires tokens here" in row


@pytest.mark.parametrize(
    ("phase", "sentence"),
    [
        ("audit", "Next phase: **instances**"),
        ("instances", "Next phase: **launch\\_paths**"),
        ("launch_paths", "Next phase: **account**"),
    ],
)
def test_next_phase_sentence(phase, sentence):
    text = report.to_markdown({"phase": phase, "regions": [region()]})
    assert sentence in text
    assert "The campaign is complete" not in text


def test_next_phase_counts_the_templates_the_launch_paths_phase_changes():
    text = report.to_markdown({"phase": "instances", "regions": [region(), region("us-east-1")]})
    assert "it would change 2 launch templates" in text


def test_after_refused_enforcement_the_campaign_is_not_complete():
    """Issue 27: after enforcement was refused the report said 'This was the last phase' and 'blocks (none)'."""
    refused = {"failed": True, "reason": "enforcement_not_ready", "msg": "not ready", "region": "eu-west-1"}
    text = report.to_markdown({"phase": "account", "regions": [region()], "task_results": [refused]})
    assert "This was the last phase" not in text
    assert "(none)" not in text
    assert "**The campaign is not complete**: http\\_tokens\\_enforced is not enabled in eu-west-1." in text
    assert "refused or failed \\(enforcement\\_not\\_ready\\): not ready" in text
    assert "## What blocks enforcement \\(3\\)" in text


def test_a_failed_step_is_named_and_the_phase_is_to_be_run_again():
    failures = [{"task": "Phase account: new instances require IMDSv2 by default", "reason": "throttled", "msg": "x"}]
    text = report.to_markdown({"phase": "account", "regions": [region()], "failures": failures})
    assert "**A step failed**: Phase account: new instances require IMDSv2 by default \\(throttled\\): x" in text
    assert "did not finish: **run it again** once the failures above are fixed" in text
    assert text.index("A step failed") < text.index("failures above")
    assert "The campaign is" not in text


def test_a_run_without_failures_names_none():
    text = report.to_markdown({"phase": "instances", "regions": [region()]})
    assert "A step failed" not in text
    assert "did not finish" not in text


def test_dry_run_is_marked_and_says_would():
    changes = [{"region": "eu-west-1", "kind": "instance", "id": "i-ready", "change": "http_tokens required"}]
    for dry in (True, False):
        data = {"phase": "instances", "regions": [region()], "changes": changes, "check_mode": dry}
        text = report.to_markdown(data)
        page = report.to_html(data)
        assert ("DRY RUN" in text) is dry
        assert ('<p class="dry"><strong>DRY RUN (check mode)</strong>' in page) is dry
        assert ("What this phase would change \\(dry run\\)" in text) is dry
        assert ("### What this phase changed (1)" in text) is not dry


def test_dry_run_of_the_last_phase_says_nothing_was_enforced():
    text = report.to_markdown({"phase": "account", "regions": [region()], "check_mode": True})
    assert "**Dry run**: nothing was changed, so enforcement is still off in eu-west-1" in text
    assert "This phase would change nothing." in text


def test_a_phase_that_changed_nothing_says_so_and_one_that_did_does_not():
    assert "This phase changed nothing." in report.to_markdown({"phase": "audit", "regions": [region()]})
    changes = [{"region": "eu-west-1", "kind": "instance", "id": "i-1", "change": "http_tokens required"}]
    assert "changed nothing" not in report.to_markdown({"phase": "instances", "changes": changes})


def test_not_audited_is_said_once():
    statement = "This audit cannot see direct RunInstances callers, other accounts, or services that launch for you."
    regions = [region(not_audited=statement), region("us-east-1", not_audited=statement)]
    text = report.to_markdown({"phase": "audit", "regions": regions})
    assert text.count(md(statement)) == 1
    assert "## What this audit cannot see" in text
    assert "What this audit cannot see" not in report.to_markdown({"phase": "audit", "regions": [region()]})


NOT_AUDITED = {
    "launch_paths": ["instances launched by direct RunInstances calls", "launch paths in other AWS accounts"],
    "covered_by": "The account's default http_tokens=required makes those that set no options require IMDSv2.",
    "coverage": "none",
}


def test_not_audited_as_metadata_options_info_returns_it_is_said_once_with_what_covers_it():
    """Issue 27 (second review, 16): metadata_options_info returns a dict; the statement reached no real report."""
    covered = {**NOT_AUDITED, "coverage": "enforcement"}
    regions = [region(not_audited=NOT_AUDITED), region("us-east-1", not_audited=covered)]
    for text in (report.to_markdown({"phase": "audit", "regions": regions}), report.to_html({"regions": regions})):
        assert "What this audit cannot see" in text
        assert text.count("direct RunInstances calls") == 1
        assert text.count("makes those that set no options require IMDSv2") == 1
    markdown = report.to_markdown({"phase": "audit", "regions": regions})
    assert "**Not covered**" + md(" in eu-west-1: the account default http_tokens is not required") in markdown
    covered_only = report.to_markdown({"phase": "audit", "regions": [region(not_audited=covered)]})
    assert "Not covered" not in covered_only


@pytest.mark.parametrize(
    ("coverage", "bare"), [("none", False), ("account_default", True), ("enforcement", True), (None, False)]
)
def test_ready_to_enforce_yes_says_what_is_not_covered(coverage, bare):
    """No blocker, but nothing covers what the audit cannot see: the top lines say so, not a bare "yes"."""
    ready = region(
        instances=[instance("i-done", "enforced", tokens="required")],
        launch_templates=[template("lt-done", "enforced", False)],
        not_audited={**NOT_AUDITED, "coverage": coverage},
    )
    lines = ["".join(map(str, line)) for line in (report.overall_top_line([ready]), report.region_top_line(ready))]
    for line in lines:
        assert "ready to enforce: yes" in line.lower()
        assert (
            line.endswith("nothing audited allows IMDSv1 in any region.")
            or line.endswith("nothing audited allows IMDSv1.")
            or not bare
        )
        assert ("is not covered: no account default http_tokens=required, no enforcement" in line) is not bare


def test_alias_rows_say_only_the_moves_the_result_reports():
    """Issue 27 (second review, 5): a launch_paths step failed after creating version 3; $Default was not moved
    and $Latest is version 3. The rows must not say $Default moved, nor "now version -" for a version not made."""
    lineage = [
        {"old_version": 1, "new_version": 3, "action": "create", "users": [{"kind": "alias", "name": "$Default"}]},
        {"old_version": 2, "new_version": None, "action": "create", "users": [{"kind": "alias", "name": "$Latest"}]},
    ]
    failed = {
        "failed": True,
        "reason": "aws_error",
        "msg": "InternalError",
        "launch_template_id": "lt-1",
        "versions_created": [3],
        "lineage": lineage,
        "aliases": {
            "$Default": {"before": 1, "after": 1, "moved": False},
            "$Latest": {"before": 2, "after": 3, "moved": True},
        },
    }
    changes = [row["change"] for row in report.changes_from([{"results": [failed]}])]
    assert changes[1:] == [
        "done before it: version 1 -> 3 (create), used by alias $Default",
        "done before it: version 2 -> not created (create), used by alias $Latest",
        "done before it: $Default stays version 1",
        "done before it: $Latest now version 3 (was 2)",
    ]
    planned = {
        "changed": True,
        "launch_template_id": "lt-1",
        "lineage": [{**row, "new_version": None} for row in lineage],
        "aliases": {
            "$Default": {"before": 1, "after": None, "moved": True},
            "$Latest": {"before": 2, "after": None, "moved": True},
        },
    }
    dry = [row["change"] for row in report.changes_from([{"results": [planned]}], check_mode=True)]
    assert dry[2:] == [
        "$Default would move to the successor of version 1 (now version 1)",
        "$Latest would move to the successor of version 2 (now version 2)",
    ]
    assert dry[0] == "version 1 -> a new version (create), used by alias $Default"
    assert "now version -" not in report.to_markdown({"phase": "launch_paths", "task_results": [{"results": [failed]}]})


BIDI_AND_ZERO_WIDTH = "".join(
    chr(code) for code in [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
)


def test_characters_that_reorder_or_hide_text_are_replaced_in_both_formats():
    """Issue 27 (second review): md_escape kept U+202E and friends, so "gpj.exe" could read as "exe.jpg"."""
    name = f"web\u202egpj.exe{BIDI_AND_ZERO_WIDTH}end"
    escaped = report.md_escape(name)
    assert not set(escaped) & set(BIDI_AND_ZERO_WIDTH)
    assert escaped.startswith("web\ufffdgpj.exe")
    assert escaped.endswith("end")
    regions = [region(instances=[instance("i-1", "uses_imdsv1", name=name)])]
    for text in (report.to_markdown({"phase": "audit", "regions": regions}), report.to_html({"regions": regions})):
        assert not set(text) & set(BIDI_AND_ZERO_WIDTH)
        assert "gpj.exe" in text


def test_new_verdicts_and_path_kinds_render_without_code_changes():
    fleets = [
        {"fleet_id": "fleet-1", "name": "batch", "verdict": "launch_refused", "blocks_enforcement": True},
        {"fleet_id": "fleet-2", "verdict": "brand_new_verdict"},  # blocks: fail closed
        {"fleet_id": "fleet-3", "verdict": "enforced", "blocks_enforcement": False},
    ]
    odd = region(
        ec2_fleets=fleets,
        launch_path_summary={"ec2_fleets": {"launch_refused": 1, "brand_new_verdict": 1, "enforced": 1}},
        instances=[instance("i-new", "some_future_verdict", tokens="required")],
    )
    text = report.to_markdown({"phase": "audit", "regions": [odd]})
    assert "### EC2 Fleets (2)" in text
    assert "| eu-west-1 | batch | fleet-1 | launch\\_refused |" in text
    assert "its launches fail now" in text
    assert "| brand\\_new\\_verdict |" in text
    assert report.md_escape(report.UNKNOWN_VERDICT_ACTION) in text
    assert "fleet-3" not in text.split("## What blocks enforcement")[1].split("## Per region")[0]
    assert "| i-new |" in text  # an instance verdict the report does not know blocks even with tokens required


def test_messages_are_never_cut_mid_word():
    message = "EC2 refused it: " + " ".join(f"word{n}" for n in range(100))  # 600+ characters
    refused = {"failed": True, "reason": "enforcement_not_ready", "msg": message, "region": "eu-west-1"}
    text = report.to_markdown({"phase": "account", "regions": [region()], "task_results": [refused]})
    assert md(message) in text
    huge = "x " * 5000
    shortened = report.to_markdown({"phase": "account", "task_results": [{**refused, "msg": huge}]})
    assert "more characters left out" in shortened


def test_a_name_column_wherever_an_instance_or_path_is_listed():
    text = report.to_markdown({"phase": "audit", "regions": [region()]})
    for line in text.splitlines():
        if line.startswith("| Region |") and ("Instance" in line or "ID" in line):
            assert "| Name |" in line, line


def test_progress_bars_are_svg_without_script_or_links():
    page = report.to_html({"phase": "audit", "regions": [region(), {"failed": True, "item": "us-east-1"}]})
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2
    assert "1 of 3 instances require IMDSv2" in svgs[0]
    assert "1 of 2 launch paths require IMDSv2" in svgs[0]
    assert "0 of 2 account steps" in svgs[0]
    assert "unknown: the audit failed" in svgs[1]
    assert not re.search(r"href|<script|url\(|@import|<image|<use", page, re.I)


def test_progress_bar_widths_match_the_counts():
    bars = report.progress_bars(region())
    assert [(b.phase, b.done, b.total) for b in bars] == [
        ("instances", 1, 3),
        ("launch_paths", 1, 2),
        ("account", 0, 2),
    ]
    svg = report.svg_bars("eu-west-1", bars)
    assert f'width="{round(report.BAR_WIDTH / 3)}"' in svg


def test_the_report_survives_answers_of_any_shape():
    odd = {"phase": "nonsense", "regions": [{"region": 5, "instances": "x", "summary": None}, "y"], "changes": 3}
    text = report.to_markdown(odd)
    assert "Phase run: **audit**" in text  # an unknown phase reads as the first, never crashes
    assert "the audit result has no list of instances" in text
    report.to_html(odd)


def test_long_tables_are_capped_and_counted():
    many = region(instances=[instance(f"i-{n}", "unknown") for n in range(report.MAX_ROWS + 7)])
    text = report.to_markdown({"phase": "audit", "regions": [many]})
    assert f"### Instances ({report.MAX_ROWS + 7})" in text
    assert "... and 7 more." in text


def test_the_filters_refuse_what_is_not_a_report():
    with pytest.raises(AnsibleFilterError, match="take a dict"):
        imdsv2_campaign_markdown(["not", "a", "dict"])


def test_changes_come_from_the_registered_results():
    results = [
        {
            "results": [
                {"changed": True, "instance_id": "i-9", "item": [{"region": "eu-west-1"}, {"name": "api"}]},
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
        {"region": "eu-west-1", "kind": "instance", "name": "api", "id": "i-9", "change": "http_tokens required"},
        {
            "region": "us-east-1",
            "kind": "account_defaults",
            "name": "-",
            "id": "us-east-1",
            "change": "refused or failed (enforcement_not_ready): not ready",
        },
    ]


def test_template_lineage_rows_say_old_to_new_and_who_uses_it():
    lineage = [
        {"old_version": 1, "new_version": 3, "action": "create",
         "users": [{"kind": "alias", "name": "$Default", "version": "$Default", "moved": True}]},
        {"old_version": 2, "new_version": 4, "action": "create",
         "users": [{"kind": "alias", "name": "$Latest", "version": "$Latest", "moved": True},
                   {"kind": "auto_scaling_group", "name": "web-asg", "version": "$Latest", "moved": True}]},
    ]  # fmt: skip
    result = {"changed": True, "launch_template_id": "lt-1", "lineage": lineage, "item": [{"region": "eu-west-1"}, {}]}
    assert [row["change"] for row in report.changes_from([{"results": [result]}])] == [
        "version 1 -> 3 (create), used by alias $Default",
        "version 2 -> 4 (create), used by alias $Latest, auto_scaling_group web-asg ($Latest)",
    ]


def test_a_commonmark_renderer_with_raw_html_on_builds_no_element_from_aws_text():
    """The Markdown report through a real renderer (markdown-it, CommonMark with tables, raw HTML allowed): only
    the report's own elements come out, no link, no image, and every table row has its header's columns."""
    markdown_it = pytest.importorskip("markdown_it")
    renderer = markdown_it.MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
    data = hostile_report()
    page = renderer.render(imdsv2_campaign_markdown(data))
    assert page.count("<li>") == 3 * len(data["regions"])  # the progress bars' items, no list from AWS text
    parser = Elements()
    parser.feed(page)
    assert set(parser.tags) <= {"h1", "h2", "h3", "p", "strong", "code", "ul", "li", "table", "thead", "tbody", "tr",
                                "th", "td"}, set(parser.tags)  # fmt: skip
    assert parser.attributes in ([], ["style"] * len(parser.attributes))  # markdown-it aligns cells, nothing more
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        columns = len(re.findall(r"<th[ >]", table.split("</thead>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], re.S):
            assert len(re.findall(r"<td[ >]", row)) == columns, row[:300]
    assert html.escape(HOSTILE[0]) in page  # the text is there, as text


def test_chromium_builds_no_element_from_aws_text(tmp_path):
    """The HTML report of the hostile fixture as Chromium parses it (when Chromium is installed): the DOM holds only
    the report's own elements, so nothing from AWS can run or load."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Chromium is not installed (scripts/docs.sh installs Debian's chromium)")
    page = tmp_path / "report.html"
    page.write_text(imdsv2_campaign_html(hostile_report()), encoding="utf-8")
    dumped = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    parser = Elements()
    parser.feed(dumped)
    assert "svg" in parser.tags  # the browser built the page
    assert not set(parser.tags) & {"script", "img", "a", "iframe", "object", "embed", "image", "use"}
    assert not [name for name in parser.attributes if name.startswith("on") or name in ("href", "src")]


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
    assert [row["change"] for row in report.changes_from([{"results": [result]}])] == [
        "version 1 -> 3 (create), used by alias $Default, auto_scaling_group legacy-asg (pinned to v1, not moved)",
        "version 2 -> 4 (copy), used by alias $Latest, auto_scaling_group web-asg ($Latest)",
        "$Default now version 3 (was 1)",
        "$Latest stays version 2",
    ]
    failed = {**result, "failed": True, "reason": "unauthorized", "msg": "refused", "versions_created": [3]}
    changes = [row["change"] for row in report.changes_from([{"results": [failed]}])]
    assert changes[0] == "refused or failed (unauthorized): refused"
    assert (
        changes[1] == "done before it: version 1 -> 3 (create), used by alias $Default, auto_scaling_group "
        "legacy-asg (pinned to v1, not moved)"
    )


@pytest.mark.parametrize(("check_mode", "verb"), [(False, "moved"), (True, "would move")])
def test_a_pinned_group_row_says_old_to_new_and_what_was_left(check_mode, verb):
    """Issue 30, item 1: auto_scaling_group_launch_template's result, one row per move and per specification left
    (a group left alone, unchanged, is still reported)."""
    moved = {
        "changed": True,
        "auto_scaling_group_name": "legacy-asg",
        "pinned": [{"path": "launch_template"}],
        "moves": ["launch_template: lt-1 version 2 -> 5"],
        "left": [],
        "item": [{"region": "eu-west-1"}, {"auto_scaling_group_name": "legacy-asg"}],
    }
    left = {
        **moved,
        "changed": False,
        "auto_scaling_group_name": "other-asg",
        "moves": [],
        "left": ["launch_template: lt-2 version 1: no later version is its launch data"],
        "item": [{"region": "eu-west-1"}, {"auto_scaling_group_name": "other-asg"}],
    }
    untouched = {**moved, "changed": False, "moves": [], "left": []}
    rows = report.changes_from([{"results": [moved, left, untouched]}], check_mode)
    assert [(row["kind"], row["name"], row["change"]) for row in rows] == [
        ("auto_scaling_group", "legacy-asg", f"{verb} launch_template: lt-1 version 2 -> 5"),
        (
            "auto_scaling_group",
            "other-asg",
            "left: launch_template: lt-2 version 1: no later version is its launch data",
        ),
    ]


def test_a_fleet_row_names_its_kind_and_its_move():
    """Issue 30, item 3: fleet_launch_template's result for each kind."""
    base = {"changed": True, "pinned": [{}], "left": [], "item": [{"region": "eu-west-1"}, {}]}
    ec2_fleet = {**base, "fleet_id": "fleet-1", "moves": ["launch_template_configs[0]: lt-1 version 1 -> 3"]}
    spot = {**base, "spot_fleet_request_id": "sfr-1", "moves": ["launch_template_configs[0]: lt-1 version 2 -> 4"]}
    rows = report.changes_from([{"results": [ec2_fleet, spot]}])
    assert [(row["kind"], row["id"], row["change"]) for row in rows] == [
        ("ec2_fleet", "fleet-1", "moved launch_template_configs[0]: lt-1 version 1 -> 3"),
        ("spot_fleet_request", "sfr-1", "moved launch_template_configs[0]: lt-1 version 2 -> 4"),
    ]


def test_a_hop_limit_policy_shows_its_verdicts_beside_the_tokens_ones():
    """Issue 30, item 4: the per-region section has a hop-limit table only when the audit had a policy."""
    region = {
        "region": "eu-west-1",
        "hop_limit_policy": {"max": 1},
        "hop_limit_summary": {"launch_templates": {"unknown": 0, "above_max": 2, "below_min": 0, "within_policy": 5}},
    }
    text = imdsv2_campaign_markdown({"phase": "audit", "generated": "now", "regions": [region]})
    assert "Hop limit per verdict \\(policy: max 1\\)" in text  # Markdown-escaped
    assert "| eu-west-1 | launch\\_templates | 0 | 2 | 0 | 5 |" in text
    plain = imdsv2_campaign_markdown({"phase": "audit", "generated": "now", "regions": [{"region": "eu-west-1"}]})
    assert "Hop limit" not in plain


def test_a_many_instance_result_gives_the_rows_one_result_per_instance_gave():
    one_per_instance = [
        {"changed": True, "instance_id": "i-1",
         "item": [{"region": "eu-west-1"}, {"instance_id": "i-1", "name": "a"}]},
        {"changed": False, "instance_id": "i-2",
         "item": [{"region": "eu-west-1"}, {"instance_id": "i-2", "name": "b"}]},
        {"failed": True, "reason": "imdsv1_in_use", "msg": "in use",
         "item": [{"region": "eu-west-1"}, {"instance_id": "i-3", "name": "c"}]},
    ]  # fmt: skip
    entries = [
        {"instance_id": "i-1", "name": "a", "region": "eu-west-1", "changed": True, "failed": False},
        {"instance_id": "i-2", "name": "b", "region": "eu-west-1", "changed": False, "failed": False},
        {"instance_id": "i-3", "name": "c", "region": "eu-west-1", "changed": False, "failed": True,
         "reason": "imdsv1_in_use", "msg": "in use"},
    ]  # fmt: skip
    many = {"failed": True, "changed": True, "instances": entries, "summary": {}, "item": ["eu-west-1", ["i-1"]]}
    rows = report.changes_from([{"results": [many]}])
    assert rows == report.changes_from([{"results": one_per_instance}])
    assert [row["id"] for row in rows] == ["i-1", "i-3"]
