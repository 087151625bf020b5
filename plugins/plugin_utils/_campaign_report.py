# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The IMDSv2 campaign's report, for a person: one model of sections and tables, rendered as Markdown and HTML.

The input is what the playbook gathered per region: the result of metadata_options_info with every ``include``,
and what the phase changed. Everything in it came from AWS, so every cell is text made safe for its format (pipes
in Markdown, markup in HTML) and nothing is trusted to have a shape.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import VERDICT_NAMES

PHASES = ("audit", "instances", "launch_paths", "account")
PHASE_TEXT = {
    "audit": "audit the instances, launch paths and account defaults; change nothing",
    "instances": "require IMDSv2 on the instances whose verdict is ready (the metadata_options guard)",
    "launch_paths": "give every launch template version in use a successor that requires IMDSv2",
    "account": "account defaults: http_tokens required, then http_tokens_enforced (refused unless ready)",
}
INSTANCE_VERDICTS = VERDICT_NAMES  # the audit's own table, in its order
PATH_VERDICTS = ("unknown", "allows_imdsv1", "endpoint_disabled", "enforced")
PATH_KINDS = (
    ("launch_templates", "Launch templates", "launch_template_id"),
    ("auto_scaling_groups", "Auto Scaling groups", "auto_scaling_group_name"),
    ("launch_configurations", "Launch configurations", "launch_configuration_name"),
)
MAX_ROWS = 500  # a table a person reads; the rest is counted


@dataclass
class Table:
    title: str
    headers: tuple
    rows: list = field(default_factory=list)
    note: str | None = None
    counted: bool = True  # a list of things (show how many), not an overview


@dataclass
class Section:
    title: str
    paragraphs: list = field(default_factory=list)
    tables: list = field(default_factory=list)


def _list(value: Any) -> list:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _map(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int = 300) -> str:
    if value is None:
        return "-"
    return str(value)[:limit]


def _region_of(result: Mapping) -> str:
    item = result.get("item")
    if isinstance(item, list) and item and isinstance(item[0], Mapping):
        return _text(item[0].get("region"))
    return _text(result.get("region"))


def _thing_of(result: Mapping) -> tuple:
    item = result.get("item")
    target = item[1] if isinstance(item, list) and len(item) > 1 and isinstance(item[1], Mapping) else {}
    for kind, key in (("instance", "instance_id"), ("launch_template", "launch_template_id")):
        value = result.get(key) or target.get(key)
        if value:
            return kind, _text(value)
    return "account_defaults", _region_of(result)


def _user_text(user: Mapping) -> str:
    kind, name, version = _text(user.get("kind")), _text(user.get("name")), _text(user.get("version"))
    if kind == "alias":
        return name
    return f"{kind} {name}" + ("" if user.get("moved") else f" (pinned to v{version}, not moved)")


def lineage_text(result: Mapping) -> str:
    """launch_template_metadata_options' lineage: per version in use, old -> new and who uses it; the aliases."""
    parts = []
    for row in _list(result.get("lineage")):
        new = row.get("new_version")
        target = f"v{_text(new)}" if new is not None else "a new version"
        action = {"kept": "kept, has the options", "reused": "existing successor", "copy": "copy"}.get(
            _text(row.get("action")), _text(row.get("action"))
        )
        users = ", ".join(_user_text(user) for user in _list(row.get("users"))) or "no user"
        parts.append(f"v{_text(row.get('old_version'))} → {target} ({action}): {users}")
    aliases = _map(result.get("aliases"))
    for alias in ("$Default", "$Latest"):
        moved = _map(aliases.get(alias))
        before, after = moved.get("before"), moved.get("after")
        if before is not None and after == before:
            parts.append(f"{alias} stays v{_text(before)}")
        elif before is not None:
            target = "a new version" if after is None else f"v{_text(after)}"
            parts.append(f"{alias} now {target} (was v{_text(before)})")
    return "; ".join(parts)


def _change_text(result: Mapping) -> str:
    if result.get("failed"):
        reason = f" ({result['reason']})" if isinstance(result.get("reason"), str) else ""
        lineage = f"; done before it: {lineage_text(result)}" if result.get("versions_created") else ""
        return f"refused or failed{reason}: {_text(result.get('msg'), 2000)}{lineage}"
    if isinstance(result.get("lineage"), list):
        return lineage_text(result)
    if result.get("version_created"):
        return f"version {result['version_created']} created, default version {_text(result.get('default_version'))}"
    if "launch_template_id" in result:
        return f"default version {_text(result.get('default_version'))}"
    if "instance_id" in result:
        return "http_tokens required"
    return "changed"


def changes_from(task_results: Any) -> list:
    """The rows of "What this phase changed" from the phase's registered task results (loops or single)."""
    rows = []
    for task in _list(task_results):
        results = _list(task.get("results")) if "results" in task else [task]
        for result in results:
            if result.get("skipped") or not (result.get("changed") or result.get("failed")):
                continue
            if isinstance(result.get("regions"), list) and not result.get("failed"):
                for outcome in _list(result["regions"]):
                    if outcome.get("changed"):
                        change = ", ".join(f"{k}={v}" for k, v in _map(outcome.get("changes")).items())
                        rows.append(
                            {
                                "region": outcome.get("region"),
                                "kind": "account_defaults",
                                "id": outcome.get("region"),
                                "change": change,
                            }
                        )
                continue
            kind, thing = _thing_of(result)
            rows.append({"region": _region_of(result), "kind": kind, "id": thing, "change": _change_text(result)})
    return rows


def next_phase(phase: str) -> str | None:
    index = PHASES.index(phase) if phase in PHASES else 0
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


def blockers(region: Mapping) -> dict:
    """What stands in the way of the rest of the campaign in one region, by kind."""
    instances = _list(region.get("instances"))
    found = {
        "calling_imdsv1": [i for i in instances if i.get("verdict") in ("uses_imdsv1", "enforced_with_rejections")],
        "unknown_instances": [i for i in instances if i.get("verdict") in ("unknown", "too_recent")],
        "optional_instances": [
            i for i in instances if _map(i.get("metadata_options")).get("http_tokens") != "required"
        ],
        "launch_paths": [
            (kind, item)
            for kind, _title, _key in PATH_KINDS
            for item in _list(region.get(kind))
            if item.get("blocks_enforcement", True)
        ],
    }
    return found


def _campaign_section(report: Mapping, phase: str, regions: list, following: str | None) -> Section:
    """The phase run, the regions, the next phase and what this phase changed."""
    intro = Section("Campaign")
    intro.paragraphs.append(f"Phase run: **{phase}**, {PHASE_TEXT[phase]}.")
    names = ", ".join(_text(region.get("region")) for region in regions) or "-"
    intro.paragraphs.append(f"Generated: {_text(report.get('generated'))}. Regions: {names}.")
    intro.paragraphs.append(
        f"Next phase: **{following}**, {PHASE_TEXT[following]}." if following else "This was the last phase."
    )
    changed = _list(report.get("changes")) + changes_from(report.get("task_results"))
    if changed:
        intro.tables.append(
            Table(
                "What this phase changed",
                ("Region", "Kind", "What", "Change"),
                [
                    (_text(c.get("region")), _text(c.get("kind")), _text(c.get("id")), _text(c.get("change")))
                    for c in changed
                ],
            )
        )
    else:
        intro.paragraphs.append("This phase changed nothing.")
    return intro


def _instance_verdicts_table(regions: list) -> Table:
    return Table(
        "Instances per verdict",
        ("Region", *INSTANCE_VERDICTS),
        [
            (_text(r.get("region")), *(_text(_map(r.get("summary")).get(v, 0)) for v in INSTANCE_VERDICTS))
            for r in regions
        ],
        counted=False,
    )


def _path_verdicts_table(regions: list, kind: str, title: str) -> Table:
    return Table(
        f"{title} per verdict",
        ("Region", *PATH_VERDICTS),
        [
            (
                _text(r.get("region")),
                *(_text(_map(_map(r.get("launch_path_summary")).get(kind)).get(v, 0)) for v in PATH_VERDICTS),
            )
            for r in regions
        ],
        counted=False,
    )


ACCOUNT_DEFAULT_NAMES = (
    "http_tokens",
    "http_put_response_hop_limit",
    "http_endpoint",
    "http_tokens_enforced",
    "managed_by",
)


def _account_defaults_table(regions: list) -> Table:
    return Table(
        "Account defaults",
        ("Region", "http_tokens", "hop limit", "http_endpoint", "http_tokens_enforced", "managed_by"),
        [
            (
                _text(r.get("region")),
                *(_text(_map(r.get("account_defaults")).get(name)) for name in ACCOUNT_DEFAULT_NAMES),
            )
            for r in regions
        ],
        counted=False,
    )


def _per_region_section(regions: list) -> Section:
    """Overviews, one row a region: instance verdicts, launch path verdicts by kind, account defaults."""
    overview = Section("Per region")
    overview.tables.append(_instance_verdicts_table(regions))
    for kind, title, _key in PATH_KINDS:
        overview.tables.append(_path_verdicts_table(regions, kind, title))
    overview.tables.append(_account_defaults_table(regions))
    return overview


def _calling_row(region_name: str, item: Mapping) -> tuple:
    usage = _map(item.get("imdsv1_usage"))
    return (
        region_name,
        _text(item.get("instance_id")),
        _text(item.get("name")),
        _text(item.get("verdict")),
        _text(usage.get("calls")),
        _text(usage.get("rejected")),
        _text(usage.get("last_seen") or usage.get("last_rejected")),
    )


def _path_row(region_name: str, kind: str, item: Mapping) -> tuple:
    key = next(k for kind_name, _t, k in PATH_KINDS if kind_name == kind)
    label = _text(item.get(key))
    if item.get("launch_template_name"):
        label = f"{_text(item.get('launch_template_name'))} ({label})"
    return (region_name, kind, label, _text(item.get("verdict")), _text(item.get("verdict_reason")))


def _blocker_rows(regions: list) -> tuple:
    """(calling, unknown, optional, paths): the rows of the four blocker tables, over every region."""
    calling, unknown, optional, paths = [], [], [], []
    for region in regions:
        name = _text(region.get("region"))
        found = blockers(region)
        calling += [_calling_row(name, item) for item in found["calling_imdsv1"]]
        unknown += [
            (name, _text(item.get("instance_id")), _text(item.get("verdict")), _text(item.get("verdict_reason")))
            for item in found["unknown_instances"]
        ]
        optional += [
            (name, _text(item.get("instance_id")), _text(item.get("verdict"))) for item in found["optional_instances"]
        ]
        paths += [_path_row(name, kind, item) for kind, item in found["launch_paths"]]
    return calling, unknown, optional, paths


def _blockers_section(regions: list, following: str | None) -> Section:
    """What stands in the way of the next phase: instances calling, unknown or allowing IMDSv1, launch paths."""
    blocking = Section(f"What blocks the next phase ({following or 'none'})")
    calling, unknown, optional, paths = _blocker_rows(regions)
    blocking.tables.append(
        Table(
            "Instances still calling IMDSv1",
            ("Region", "Instance", "Name", "Verdict", "IMDSv1 calls", "Refused calls", "Last seen"),
            calling,
            "Fix or upgrade what makes these calls (ec2meta.imds.imdsv1_callers on the host) before requiring "
            "tokens; the instances phase leaves them alone.",
        )
    )
    blocking.tables.append(
        Table(
            "Instances whose IMDSv1 use is not known",
            ("Region", "Instance", "Verdict", "Why"),
            unknown,
            "Never counted as ready: wait for CloudWatch data, or check the instance by hand.",
        )
    )
    blocking.tables.append(
        Table(
            "Instances that still allow IMDSv1",
            ("Region", "Instance", "Verdict"),
            optional,
            "Account-level enforcement waits until every instance requires tokens.",
        )
    )
    blocking.tables.append(
        Table(
            "Launch paths still allowing IMDSv1 (or unknown)",
            ("Region", "Kind", "Launch path", "Verdict", "Why"),
            paths,
            "Launch configurations cannot be changed: move their groups to a launch template, or let the account "
            "default (http_tokens required, the account phase) apply where they set no HttpTokens. Groups "
            "pinned to a template version number keep it until the group is updated.",
        )
    )
    return blocking


def build(report: Mapping) -> tuple:
    """(title, sections) of the report."""
    phase = report.get("phase") if report.get("phase") in PHASES else "audit"
    regions = _list(report.get("regions"))
    following = next_phase(phase)
    sections = [
        _campaign_section(report, phase, regions, following),
        _per_region_section(regions),
        _blockers_section(regions, following),
    ]
    return "IMDSv2 campaign report", sections


def _cap(rows: list) -> tuple:
    return rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)


def _md_cell(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def to_markdown(report: Mapping) -> str:
    title, sections = build(report)
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            rows, more = _cap(table.rows)
            count = f" ({len(table.rows)})" if table.counted else ""
            lines += [f"### {table.title}{count}", ""]
            if table.note:
                lines += [table.note, ""]
            if not rows:
                lines += ["None.", ""]
                continue
            lines.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
            lines.append("|" + "---|" * len(table.headers))
            lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
            if more:
                lines.append(f"\n... and {more} more.")
            lines.append("")
    return "\n".join(lines)


def _bold(text: str) -> str:
    """The Markdown **bold** of the intro paragraphs as HTML, the rest escaped."""
    parts = text.split("**")
    return "".join(
        f"<strong>{html.escape(part)}</strong>" if i % 2 else html.escape(part) for i, part in enumerate(parts)
    )


def to_html(report: Mapping) -> str:
    title, sections = build(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "th,td{border:1px solid #999;padding:.25em .5em;text-align:left}th{background:#eee}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        out.append(f"<h2>{html.escape(section.title)}</h2>")
        out += [f"<p>{_bold(paragraph)}</p>" for paragraph in section.paragraphs]
        for table in section.tables:
            rows, more = _cap(table.rows)
            count = f" ({len(table.rows)})" if table.counted else ""
            out.append(f"<h3>{html.escape(table.title)}{count}</h3>")
            if table.note:
                out.append(f"<p>{html.escape(table.note)}</p>")
            if not rows:
                out.append("<p>None.</p>")
                continue
            out.append("<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in table.headers) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
            if more:
                out.append(f"<p>... and {more} more.</p>")
    out.append("</body></html>")
    return "\n".join(out)
