# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The IMDSv2 campaign's report, for a person: one model of sections and tables, rendered as Markdown and HTML.

The input is what the playbook gathered per region: the result of metadata_options_info with every ``include``
(or its failure), what the phase changed and which of its steps failed. Everything in it came from AWS or from a
task result, so every piece of text is escaped for its format (no raw HTML and no links in Markdown, markup
escaped in HTML), nothing is trusted to have a shape, and a verdict this report does not know is shown as it is
and counted as a blocker, never dropped.

Every sentence the report writes is a row of a table below or a function of the data, with a test that it is true.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import LAUNCH_PATH_KINDS, PATH_VERDICTS
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import bounded_message

PHASES = ("audit", "instances", "launch_paths", "account")
PHASE_TEXT = {
    "audit": "audit the instances, launch paths and account defaults; change nothing",
    "instances": "require IMDSv2 on the instances whose verdict is ready (the metadata_options guard)",
    "launch_paths": "give launch templates versions that require IMDSv2, for every version in use",
    "account": "account defaults: http_tokens required, then http_tokens_enforced (refused unless ready)",
}
MAX_ROWS = 500  # a table a person reads; the rest is counted
MAX_CELL = 2000  # longer text is shortened between words and says how much was left out, never cut mid-word

# What each instance verdict means for enforcement: (verdict, blocks even where tokens are required, what to do).
# As launch_paths.readiness_from judges: an instance blocks while its tokens are not required, or while its IMDSv1
# use is unknown or in use. A verdict not in the table is shown as it is, blocks, and gets UNKNOWN_VERDICT_ACTION.
INSTANCE_VERDICT_ROWS: tuple = (
    ("ready", False, "the instances phase requires tokens here"),
    ("uses_imdsv1", True, "update what calls IMDSv1 on it (ec2meta.imds.imdsv1_callers shows what), then audit again"),
    ("enforced_with_rejections", False, "tokens are required and IMDSv1 calls are refused now: fix that caller"),
    ("unknown", True, "never counted as ready: wait for CloudWatch data, or check the instance by hand"),
    ("too_recent", False, "too early to tell: audit again once CloudWatch has a full window"),
    ("endpoint_disabled", False, "its metadata endpoint is off: set http_tokens required on it by hand"),
    ("enforced", False, "nothing: tokens are required"),
)
# Launch path verdicts (templates, groups, configurations, fleets): the audit's own table, so the report and the
# audit agree on what blocks enforcement and what to do.
PATH_VERDICT_ROWS: tuple = tuple((row.name, row.blocks_enforcement, row.advice) for row in PATH_VERDICTS)
UNKNOWN_VERDICT_ACTION = "a verdict this report does not know: counted as a blocker; read the audit result"
# Launch path kinds: (kind, title, the key of its id, what fixes it). Kinds the audit adds later render with their
# own name as the title and the first *_id or *_name key as the id.
PATH_KIND_ROWS: tuple = (
    (
        "launch_templates",
        "Launch templates",
        "launch_template_id",
        "the launch_paths phase; a group pinned to a version number keeps it until the group is moved "
        "(campaign_move_pinned_groups=true)",
    ),
    (
        "auto_scaling_groups",
        "Auto Scaling groups",
        "auto_scaling_group_name",
        "follows its template (the launch_paths phase); pinned to a version number, it moves to that version's "
        "successor with campaign_move_pinned_groups=true",
    ),
    (
        "launch_configurations",
        "Launch configurations",
        "launch_configuration_name",
        "cannot be changed: move its groups to a launch template, or let the account default (the account phase) "
        "cover it where it sets no HttpTokens",
    ),
    (
        "ec2_fleets",
        "EC2 Fleets",
        "fleet_id",
        "the launch_paths phase gives its template versions successors; a fleet pinned to a version number keeps it "
        "until the fleet is modified (ModifyFleet)",
    ),
    (
        "spot_fleet_requests",
        "Spot Fleet requests",
        "spot_fleet_request_id",
        "template configs follow their template like a group; launch specifications take the account default "
        "(the account phase) or the AMI's ImdsSupport",
    ),
)
NAME_KEYS = ("name", "launch_template_name", "auto_scaling_group_name", "launch_configuration_name", "fleet_name")


@dataclass
class Strong:
    """Bold text inside a paragraph (escaped like any other text)."""

    text: str


@dataclass
class Bar:
    """One progress bar: ``done`` of ``total``, or unknown (``total`` None) with the reason in ``label``."""

    phase: str
    done: int
    total: int | None
    label: str


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
    paragraphs: list = field(default_factory=list)  # each a list of str and Strong
    bars: list = field(default_factory=list)  # (region, [Bar]) pairs
    tables: list = field(default_factory=list)


def filter_input(report: Any) -> Mapping:
    """The report a filter was given, refused with the shape it needs when it is not a dict."""
    if not isinstance(report, dict):
        raise AnsibleFilterError(
            "the IMDSv2 campaign report filters take a dict with phase, generated, regions (each a "
            f"metadata_options_info result with region) and changes, not {type(report).__name__}"
        )
    return report


# ----------------------------------------------------------------------------- reading untrusted input


def _list(value: Any) -> list:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _texts(value: Any) -> list:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _map(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return bounded_message(str(value), MAX_CELL)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _region_name(region: Mapping) -> str:
    if region.get("region"):
        return _text(region.get("region"))
    return _text(region.get("item"))  # a failed loop item carries the region only as the item


def _verdict_row(rows: tuple, verdict: Any) -> tuple:
    for name, blocks, action in rows:
        if name == verdict:
            return name, blocks, action
    return _text(verdict), True, UNKNOWN_VERDICT_ACTION


def _path_kinds(region: Mapping) -> list:
    """(kind, title, id key, fix) of every launch path kind the region's result holds, known ones first."""
    known = [row for row in PATH_KIND_ROWS if isinstance(region.get(row[0]), list)]
    names = {row[0] for row in PATH_KIND_ROWS}
    extra = [kind for kind in LAUNCH_PATH_KINDS if kind not in names]
    extra += [kind for kind in _map(region.get("launch_path_summary")) if kind not in names and kind not in extra]
    for kind in extra:
        items = _list(region.get(kind))
        keys = [key for item in items[:1] for key in item if key.endswith(("_id", "_name"))]
        known.append((kind, kind.replace("_", " ").capitalize(), keys[0] if keys else "id", ""))
    return known


def _audit_failed(region: Mapping) -> bool:
    return bool(region.get("failed")) or not isinstance(region.get("instances"), list)


# ----------------------------------------------------------------------------- what the data says


@dataclass
class Blocker:
    kind: str  # "instance" or a launch path kind
    region: str
    item: Mapping
    verdict: str
    action: str


def region_blockers(region: Mapping) -> list:
    """What stands in the way of http_tokens_enforced in one region, as launch_paths.readiness_from judges it:
    an instance whose tokens are not required or whose verdict is unknown or uses_imdsv1, and every launch path
    not marked blocks_enforcement=false."""
    name = _region_name(region)
    found = []
    for item in _list(region.get("instances")):
        verdict, blocks_anyway, action = _verdict_row(INSTANCE_VERDICT_ROWS, item.get("verdict"))
        if blocks_anyway or _map(item.get("metadata_options")).get("http_tokens") != "required":
            found.append(Blocker("instance", name, item, verdict, action))
    for kind, _title, _key, fix in _path_kinds(region):
        for item in _list(region.get(kind)):
            verdict, fixable, action = _verdict_row(PATH_VERDICT_ROWS, item.get("verdict"))
            if item.get("blocks_enforcement", True) is not False:
                found.append(Blocker(kind, name, item, verdict, f"{action} ({fix})" if fixable and fix else action))
    return found


def enforced(region: Mapping) -> bool:
    return _map(region.get("account_defaults")).get("http_tokens_enforced") == "enabled"


def _by_kind(found: list) -> str:
    counts: dict = {}
    for blocker in found:
        counts[blocker.kind] = counts.get(blocker.kind, 0) + 1
    titles = {
        "instance": ("instance", "instances"),
        **{row[0]: (row[1][:-1].lower(), row[1].lower()) for row in PATH_KIND_ROWS},
    }
    parts = []
    for kind, number in counts.items():
        one, many = titles.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
        parts.append(_count(number, one, many))
    return ", ".join(parts)


UNCOVERED_TEXT = (
    "what the audit cannot see (direct RunInstances calls, other accounts, services launching for you) is not "
    "covered: no account default http_tokens=required, no enforcement"
)


def region_top_line(region: Mapping) -> list:
    """One region's verdict on enforcement, as a paragraph."""
    name = _region_name(region)
    if region.get("failed"):
        why = f" ({region['reason']})" if isinstance(region.get("reason"), str) else ""
        return [Strong(name), f": ready to enforce: unknown — the audit failed{why}: {_text(region.get('msg'))}"]
    if _audit_failed(region):
        return [Strong(name), ": ready to enforce: unknown — the audit result has no list of instances."]
    found = region_blockers(region)
    if enforced(region):
        rest = (
            f"; {_count(len(found), 'instance or launch path', 'instances or launch paths')} still "
            f"{'allows' if len(found) == 1 else 'allow'} IMDSv1 ({_by_kind(found)})"
            if found
            else ""
        )
        return [Strong(name), f": IMDSv2 is enforced at launch (http_tokens_enforced enabled){rest}."]
    if found:
        return [Strong(name), f": ready to enforce: no — {_count(len(found), 'blocker')} ({_by_kind(found)})."]
    if uncovered(region):
        return [Strong(name), f": ready to enforce: yes — nothing audited allows IMDSv1; {UNCOVERED_TEXT}."]
    return [Strong(name), ": ready to enforce: yes — nothing audited allows IMDSv1."]


def overall_top_line(regions: list) -> list:
    if not regions:
        return [Strong("Ready to enforce: unknown"), " — no region was audited."]
    failed = [_region_name(r) for r in regions if _audit_failed(r)]
    total = sum(len(region_blockers(r)) for r in regions if not _audit_failed(r))
    if failed:
        more = f", and {_count(total, 'blocker')} in the others" if total else ""
        return [Strong("Ready to enforce: unknown"), f" — the audit failed in {', '.join(failed)}{more}."]
    if all(enforced(r) for r in regions):
        rest = f"; {_count(total, 'blocker')} still {'allows' if total == 1 else 'allow'} IMDSv1" if total else ""
        return [Strong("IMDSv2 is enforced at launch in every region"), f"{rest}."]
    if total:
        where = sum(1 for r in regions if region_blockers(r))
        return [Strong("Ready to enforce: no"), f" — {_count(total, 'blocker')} in {_count(where, 'region')}."]
    bare = [_region_name(region) for region in regions if uncovered(region)]
    if bare:
        return [
            Strong("Ready to enforce: yes"),
            f" — nothing audited allows IMDSv1 in any region; in {', '.join(bare)} {UNCOVERED_TEXT}.",
        ]
    return [Strong("Ready to enforce: yes"), " — nothing audited allows IMDSv1 in any region."]


def progress_bars(region: Mapping) -> list:
    """One bar a phase that changes something: instances requiring tokens, launch paths not blocking, account steps."""
    if _audit_failed(region):
        return [Bar(phase, 0, None, "unknown: the audit failed") for phase in PHASES[1:]]
    instances = _list(region.get("instances"))
    required = sum(1 for i in instances if _map(i.get("metadata_options")).get("http_tokens") == "required")
    paths = [item for kind, *_rest in _path_kinds(region) for item in _list(region.get(kind))]
    clear = sum(1 for item in paths if item.get("blocks_enforcement", True) is False)
    defaults = _map(region.get("account_defaults"))
    steps = (defaults.get("http_tokens") == "required") + (defaults.get("http_tokens_enforced") == "enabled")
    return [
        Bar(
            "instances", required, len(instances), f"{required} of {_count(len(instances), 'instance')} require IMDSv2"
        ),
        Bar("launch_paths", clear, len(paths), f"{clear} of {_count(len(paths), 'launch path')} require IMDSv2"),
        Bar("account", steps, 2, f"{steps} of 2 account steps (http_tokens required, enforcement enabled)"),
    ]


# ----------------------------------------------------------------------------- what the phase did


def _users_text(users: Any) -> str:
    named = []
    for user in _list(users):
        kind, name, version = _text(user.get("kind")), _text(user.get("name")), user.get("version")
        if user.get("moved") is False:
            how = f" (pinned to v{_text(version)}, not moved)"
        else:
            how = f" ({_text(version)})" if version not in (None, user.get("name")) else ""
        named.append(f"{kind} {name}{how}")
    return ", ".join(named) or "no user"


def _successor_text(row: Mapping, failed: bool, check_mode: bool) -> str:
    new = row.get("new_version")
    if new is not None:
        return _text(new)
    if row.get("action") == "missing":
        return "none"
    return "not created" if failed and not check_mode else "a new version"


def _alias_text(alias: str, where: Mapping, rows: list, check_mode: bool) -> str | None:
    """Where an alias went, said only as far as the result says it: a move the result does not report is none."""
    before, after = where.get("before"), where.get("after")
    if before is None:
        return None
    moved = where.get("moved") if isinstance(where.get("moved"), bool) else after not in (None, before)
    if not moved:
        return f"{alias} stays version {_text(before)}"
    follows = [
        row.get("old_version")
        for row in rows
        if any(user.get("kind") == "alias" and user.get("name") == alias for user in _list(row.get("users")))
    ]
    target = f"the successor of version {_text(follows[0])}" if follows else "a new version"
    if check_mode:
        return f"{alias} would move to {target} (now version {_text(before)})"
    if after is None:
        return f"{alias} now {target}, a new version (was {_text(before)})"
    return f"{alias} now version {_text(after)} (was {_text(before)})"


def _lineage_texts(result: Mapping, check_mode: bool = False) -> list:
    """launch_template_metadata_options' lineage: per version in use, old -> new and who uses it; then the aliases."""
    rows = [_map(row) for row in _list(result.get("lineage"))]
    failed = bool(result.get("failed"))
    texts = [
        f"version {_text(row.get('old_version'))} -> {_successor_text(row, failed, check_mode)}"
        f" ({_text(row.get('action'))}), used by {_users_text(row.get('users'))}"
        for row in rows
    ]
    aliases = _map(result.get("aliases"))
    for alias in ("$Default", "$Latest"):
        text = _alias_text(alias, _map(aliases.get(alias)), rows, check_mode)
        if text:
            texts.append(text)
    return texts


def _change_texts(result: Mapping, check_mode: bool = False) -> list:
    if result.get("failed"):
        reason = f" ({result['reason']})" if isinstance(result.get("reason"), str) else ""
        done = _lineage_texts(result) if result.get("versions_created") else []
        return [f"refused or failed{reason}: {_text(result.get('msg'))}", *(f"done before it: {t}" for t in done)]
    if _list(result.get("lineage")):
        return _lineage_texts(result, check_mode)
    # auto_scaling_group_launch_template, fleet_launch_template, launch_configuration_template: old -> new per move,
    # then what was left and why.
    if "moves" in result:
        verb = "would move" if check_mode else "moved"
        moved = [f"{verb} {_text(text)}" for text in _texts(result.get("moves"))]
        return moved + [f"left: {_text(text)}" for text in _texts(result.get("left"))]
    if result.get("version_created"):
        return [f"version {result['version_created']} created, default version {_text(result.get('default_version'))}"]
    if "launch_template_id" in result:
        return [f"default version {_text(result.get('default_version'))}"]
    if "instance_id" in result:
        return ["http_tokens required"]
    return ["changed"]


def _region_of(result: Mapping) -> str:
    item = result.get("item")
    if isinstance(item, list) and item and isinstance(item[0], Mapping):
        return _text(item[0].get("region"))
    return _text(result.get("region"))


def _thing_of(result: Mapping) -> tuple:
    item = result.get("item")
    target = item[1] if isinstance(item, list) and len(item) > 1 and isinstance(item[1], Mapping) else {}
    for kind, key, name_key in (
        ("instance", "instance_id", "name"),
        # A group's first: a group moved to a template made from its launch configuration names both.
        ("auto_scaling_group", "auto_scaling_group_name", "auto_scaling_group_name"),
        ("launch_template", "launch_template_id", "launch_template_name"),
        ("ec2_fleet", "fleet_id", "name"),
        ("spot_fleet_request", "spot_fleet_request_id", "name"),
    ):
        value = result.get(key) or target.get(key)
        if value:
            return kind, _text(target.get(name_key) or result.get(name_key)), _text(value)
    return "account_defaults", "-", _region_of(result)


def _per_instance(results: list) -> list:
    """A metadata_options result over many instances stands for its ``instances`` entries (each with its region,
    changed, failed, reason and msg), as a loop of one result per instance did before."""
    expanded = []
    for result in results:
        entries = _list(result.get("instances")) if "summary" in result else []
        expanded += entries or [result]
    return expanded


def changes_from(task_results: Any, check_mode: bool = False) -> list:
    """The rows of "What this phase changed" from the phase's registered task results (loops or single)."""
    rows = []
    for task in _list(task_results):
        results = _list(task.get("results")) if "results" in task else [task]
        for result in _per_instance(results):
            # A pinned group left alone is not a change, but the report says what was left and why.
            if result.get("skipped") or not (
                result.get("changed") or result.get("failed") or _texts(result.get("left"))
            ):
                continue
            if isinstance(result.get("regions"), list) and not result.get("failed"):
                for outcome in _list(result["regions"]):
                    if outcome.get("changed"):
                        change = ", ".join(f"{k}={v}" for k, v in _map(outcome.get("changes")).items())
                        rows.append(
                            {
                                "region": outcome.get("region"),
                                "kind": "account_defaults",
                                "name": "-",
                                "id": outcome.get("region"),
                                "change": change,
                            }
                        )
                continue
            kind, name, thing = _thing_of(result)
            for text in _change_texts(result, check_mode):
                rows.append({"region": _region_of(result), "kind": kind, "name": name, "id": thing, "change": text})
    return rows


def next_phase(phase: str) -> str | None:
    index = PHASES.index(phase) if phase in PHASES else 0
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


def _next_phase_sentence(report: Mapping, phase: str, regions: list, failures: list) -> list:
    """What to run next, and only what the data supports: the account phase is the last one only once every
    region enforces IMDSv2."""
    following = next_phase(phase)
    if failures:
        return [
            f"This run of the {phase} phase did not finish: ",
            Strong("run it again"),
            " once the failures above are fixed (every change is idempotent).",
        ]
    if following == "instances":
        ready = sum(1 for r in regions for i in _list(r.get("instances")) if i.get("verdict") == "ready")
        return [
            "Next phase: ",
            Strong("instances"),
            f", {PHASE_TEXT['instances']}: it would change "
            f"{_count(ready, 'instance')} (verdict ready, listed below under What blocks enforcement).",
        ]
    if following == "launch_paths":
        templates = sum(
            1 for r in regions for t in _list(r.get("launch_templates")) if t.get("blocks_enforcement", True)
        )
        return [
            "Next phase: ",
            Strong("launch_paths"),
            f", {PHASE_TEXT['launch_paths']}: it would change "
            f"{_count(templates, 'launch template')} (those that still allow IMDSv1 in some version in use).",
        ]
    if following == "account":
        return ["Next phase: ", Strong("account"), f", {PHASE_TEXT['account']}."]
    not_enforced = [_region_name(r) for r in regions if not enforced(r)]
    if regions and not not_enforced:
        return [Strong("The campaign is complete"), ": IMDSv2 is enforced at launch in every region audited."]
    if report.get("check_mode"):
        return [
            Strong("Dry run"),
            ": nothing was changed, so enforcement is still off in "
            f"{', '.join(not_enforced) or 'every region'}; run the account phase without --check.",
        ]
    return [
        Strong("The campaign is not complete"),
        ": http_tokens_enforced is not enabled in "
        f"{', '.join(not_enforced) or 'any region'}. Fix what blocks enforcement (below), then run the account "
        "phase again.",
    ]


# ----------------------------------------------------------------------------- sections


def _top_section(report: Mapping, phase: str, regions: list, failures: list) -> Section:
    top = Section("Summary")
    if report.get("check_mode"):
        top.paragraphs.append(
            [
                Strong("DRY RUN (check mode)"),
                ': nothing was changed in AWS. "What this phase changed" lists what '
                "a real run would change; the audit shows the state as it is.",
            ]
        )
    top.paragraphs.append(overall_top_line(regions))
    top.paragraphs += [region_top_line(region) for region in regions]
    for failure in failures:
        reason = f" ({failure['reason']})" if isinstance(failure.get("reason"), str) and failure["reason"] else ""
        top.paragraphs.append(
            [Strong("A step failed"), f": {_text(failure.get('task'))}{reason}: {_text(failure.get('msg'))}"]
        )
    top.paragraphs.append(_next_phase_sentence(report, phase, regions, failures))
    top.bars = [(_region_name(region), progress_bars(region)) for region in regions]
    return top


def _campaign_section(report: Mapping, phase: str, regions: list) -> Section:
    intro = Section("Campaign")
    intro.paragraphs.append(["Phase run: ", Strong(phase), f", {PHASE_TEXT[phase]}."])
    names = ", ".join(_region_name(region) for region in regions) or "-"
    intro.paragraphs.append([f"Generated: {_text(report.get('generated'))}. Regions: {names}."])
    changed = _list(report.get("changes")) + changes_from(report.get("task_results"), bool(report.get("check_mode")))
    if changed:
        title = "What this phase would change (dry run)" if report.get("check_mode") else "What this phase changed"
        intro.tables.append(
            Table(
                title,
                ("Region", "Kind", "Name", "ID", "Change"),
                [tuple(_text(c.get(key)) for key in ("region", "kind", "name", "id", "change")) for c in changed],
            )
        )
    else:
        verb = "would change" if report.get("check_mode") else "changed"
        intro.paragraphs.append([f"This phase {verb} nothing."])
    return intro


def _not_audited_texts(value: Any) -> tuple:
    """(what the audit cannot see, what covers it) from metadata_options_info's not_audited: a dict, or text."""
    if isinstance(value, Mapping):
        paths = value.get("launch_paths")
        unseen = [text for text in paths if isinstance(text, str) and text] if isinstance(paths, list) else []
        cover = value.get("covered_by") if isinstance(value.get("covered_by"), str) else ""
        return unseen, [cover] if cover else []
    return [text for text in (value if isinstance(value, list) else [value]) if isinstance(text, str) and text], []


def uncovered(region: Mapping) -> bool:
    """Nothing covers what the audit cannot see: the default allows IMDSv1 and enforcement is off (or unknown)."""
    value = region.get("not_audited")
    return isinstance(value, Mapping) and value.get("coverage") not in ("enforcement", "account_default")


def _not_audited_section(regions: list) -> Section | None:
    unseen: list = []
    covers: list = []
    for region in regions:
        texts, cover = _not_audited_texts(region.get("not_audited"))
        unseen += [text for text in texts if text not in unseen]
        covers += [text for text in cover if text not in covers]
    if not unseen:
        return None
    section = Section("What this audit cannot see", [[f"This audit cannot see {'; '.join(map(_text, unseen))}."]])
    section.paragraphs += [[_text(text)] for text in covers]
    bare = [_region_name(region) for region in regions if uncovered(region)]
    if bare:
        section.paragraphs.append(
            [
                Strong("Not covered"),
                f" in {', '.join(bare)}: the account default http_tokens is not required and http_tokens_enforced "
                "is not enabled, so any of those launches may allow IMDSv1.",
            ]
        )
    return section


def _per_region_section(regions: list) -> Section:
    """Overviews, one row a region: instance verdicts, launch path verdicts by kind, account defaults."""
    overview = Section("Per region")
    verdicts = list(
        dict.fromkeys([row[0] for row in INSTANCE_VERDICT_ROWS] + [v for r in regions for v in _map(r.get("summary"))])
    )
    overview.tables.append(
        Table(
            "Instances per verdict",
            ("Region", *verdicts),
            [(_region_name(r), *(_text(_map(r.get("summary")).get(v, 0)) for v in verdicts)) for r in regions],
            counted=False,
        )
    )
    kinds = list(dict.fromkeys(row[:2] for r in regions for row in _path_kinds(r)))
    for kind, title in kinds:
        summaries = [_map(_map(r.get("launch_path_summary")).get(kind)) for r in regions]
        names = list(dict.fromkeys([row[0] for row in PATH_VERDICT_ROWS] + [v for s in summaries for v in s]))
        overview.tables.append(
            Table(
                f"{title} per verdict",
                ("Region", *names),
                [(_region_name(r), *(_text(s.get(v, 0)) for v in names)) for r, s in zip(regions, summaries)],
                counted=False,
            )
        )
    hop_table = _hop_limit_table(regions)
    if hop_table:
        overview.tables.append(hop_table)
    defaults = ("http_tokens", "http_put_response_hop_limit", "http_endpoint", "http_tokens_enforced", "managed_by")
    overview.tables.append(
        Table(
            "Account defaults",
            ("Region", *defaults),
            [
                (_region_name(r), *(_text(_map(r.get("account_defaults")).get(name)) for name in defaults))
                for r in regions
            ],
            counted=False,
        )
    )
    return overview


def _hop_limit_table(regions: list) -> Table | None:
    """With a hop-limit policy (metadata_options_info hop_limit_policy): a row per region and kind, a column per
    hop-limit verdict, beside the tokens verdicts above."""
    rows = []
    names: list = []
    for region in regions:
        for kind, counts in _map(region.get("hop_limit_summary")).items():
            counts = _map(counts)
            names = list(dict.fromkeys([*names, *counts]))
            rows.append((region, kind, counts))
    if not rows:
        return None
    policy = ", ".join(
        dict.fromkeys(
            f"{bound} {_text(value)}" for r, _k, _c in rows for bound, value in _map(r.get("hop_limit_policy")).items()
        )
    )
    return Table(
        f"Hop limit per verdict (policy: {policy or 'unknown'})",
        ("Region", "Kind", *names),
        [(_region_name(r), _text(kind), *(_text(c.get(name, 0)) for name in names)) for r, kind, c in rows],
        counted=False,
    )


def _name_of(item: Mapping) -> str:
    return _text(next((item.get(key) for key in NAME_KEYS if item.get(key)), None))


def _blockers_section(regions: list) -> Section:
    """Everything that stands in the way of http_tokens_enforced, with what to do about each."""
    found = [blocker for region in regions if not _audit_failed(region) for blocker in region_blockers(region)]
    section = Section(f"What blocks enforcement ({len(found)})")
    instances = [b for b in found if b.kind == "instance"]
    rows = []
    for blocker in instances:
        usage = _map(blocker.item.get("imdsv1_usage"))
        rows.append(
            (
                blocker.region,
                _text(blocker.item.get("instance_id")),
                _name_of(blocker.item),
                blocker.verdict,
                _text(_map(blocker.item.get("metadata_options")).get("http_tokens")),
                _text(usage.get("calls")),
                _text(usage.get("rejected")),
                _text(usage.get("last_seen") or usage.get("last_rejected")),
                blocker.action,
            )
        )
    section.tables.append(
        Table(
            "Instances",
            (
                "Region",
                "Instance",
                "Name",
                "Verdict",
                "http_tokens",
                "IMDSv1 calls",
                "Refused calls",
                "Last seen",
                "What to do",
            ),
            rows,
        )
    )
    kinds = list(dict.fromkeys(row[:3] for r in regions for row in _path_kinds(r)))
    for kind, title, key in kinds:
        rows = [
            (
                b.region,
                _name_of(b.item),
                _text(b.item.get(key)),
                b.verdict,
                _text(b.item.get("verdict_reason")),
                b.action,
            )
            for b in found
            if b.kind == kind
        ]
        section.tables.append(Table(title, ("Region", "Name", "ID", "Verdict", "Why", "What to do"), rows))
    return section


def build(report: Mapping) -> tuple:
    """(title, sections) of the report."""
    phase = report.get("phase") if report.get("phase") in PHASES else "audit"
    regions = _list(report.get("regions"))
    failures = _list(report.get("failures"))
    title = "IMDSv2 campaign report" + (" (DRY RUN)" if report.get("check_mode") else "")
    sections = [_top_section(report, phase, regions, failures), _campaign_section(report, phase, regions)]
    unseen = _not_audited_section(regions)
    if unseen:
        sections.append(unseen)
    sections += [_blockers_section(regions), _per_region_section(regions)]
    return title, sections


def _cap(rows: list) -> tuple:
    return rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)


# ----------------------------------------------------------------------------- Markdown

# CommonMark treats a backslash before any ASCII punctuation as that character; <, > and & become entities so no
# renderer sees a tag; "://", "www." and "@" are broken up so GFM makes no link of them.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()|#!~{}])")
_MD_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# Characters that reorder or hide text (bidi embeddings, overrides and isolates, zero-width marks, the BOM): an
# AWS-supplied name with them reads as another name, or hides part of itself, in either format. Each is shown as
# U+FFFD, so the reader sees that something was there.
_HIDDEN = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def md_escape(value: Any) -> str:
    text = _HIDDEN.sub("\ufffd", _MD_CONTROL.sub(" ", str(value)))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("://", "\\://").replace("www.", "www\\.").replace("@", "\\@")


_MD_BLOCK_START = re.compile(r"^(?:([-+=])|(\d+)([.)]))")


def _md_paragraph(spans: list) -> str:
    text = "".join(f"**{md_escape(s.text)}**" if isinstance(s, Strong) else md_escape(s) for s in spans).lstrip()
    # A paragraph that starts like a list item, a heading underline or code would not be a paragraph.
    return _MD_BLOCK_START.sub(
        lambda found: f"\\{found.group(1)}" if found.group(1) else f"{found.group(2)}\\{found.group(3)}", text, count=1
    )


def _md_bar(progress: Bar, width: int = 20) -> str:
    if progress.total is None:
        return f"`{'?' * width}` {md_escape(progress.label)}"
    filled = round(width * progress.done / progress.total) if progress.total else width
    return f"`{'#' * filled}{'.' * (width - filled)}` {md_escape(progress.label)}"


def to_markdown(report: Mapping) -> str:
    title, sections = build(report)
    lines = [f"# {md_escape(title)}", ""]
    for section in sections:
        lines += [f"## {md_escape(section.title)}", ""]
        for paragraph in section.paragraphs:
            lines += [_md_paragraph(paragraph), ""]
        for region, bars in section.bars:
            lines += [f"Progress in {md_escape(region)}:", ""]
            lines += [f"- {md_escape(progress.phase)}: {_md_bar(progress)}" for progress in bars] + [""]
        for table in section.tables:
            rows, more = _cap(table.rows)
            count = f" ({len(table.rows)})" if table.counted else ""
            lines += [f"### {md_escape(table.title)}{count}", ""]
            if table.note:
                lines += [md_escape(table.note), ""]
            if not rows:
                lines += ["None.", ""]
                continue
            lines.append("| " + " | ".join(md_escape(h) for h in table.headers) + " |")
            lines.append("|" + "---|" * len(table.headers))
            lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows]
            if more:
                lines.append(f"\n... and {more} more.")
            lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- HTML

BAR_WIDTH = 360
BAR_COLOURS = {"done": "#2e7d32", "todo": "#e0e0e0", "unknown": "#b0b0b0"}


def _esc(value: Any) -> str:
    return html.escape(_HIDDEN.sub("\ufffd", str(value)), quote=True)


def _html_paragraph(spans: list) -> str:
    return "".join(f"<strong>{_esc(s.text)}</strong>" if isinstance(s, Strong) else _esc(s) for s in spans)


def svg_bars(region: str, bars: list) -> str:
    """The region's progress as an inline SVG: one bar a phase, no script, no link, nothing fetched."""
    row = 26
    height = row * len(bars) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH + 560}" height="{height}" role="img" '
        f'aria-label="progress in {_esc(region)}">'
    ]
    for index, progress in enumerate(bars):
        y = 4 + index * row
        share = (progress.done / progress.total if progress.total else 1.0) if progress.total is not None else 0.0
        fill = BAR_COLOURS["unknown"] if progress.total is None else BAR_COLOURS["done"]
        parts += [
            f'<text x="0" y="{y + 15}" font-size="13">{_esc(progress.phase)}</text>',
            f'<rect x="110" y="{y}" width="{BAR_WIDTH}" height="18" fill="{BAR_COLOURS["todo"]}"/>',
            f'<rect x="110" y="{y}" width="{round(BAR_WIDTH * share)}" height="18" fill="{fill}"/>',
            f'<text x="{120 + BAR_WIDTH}" y="{y + 15}" font-size="13">{_esc(progress.label)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def to_html(report: Mapping) -> str:
    title, sections = build(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing in the page runs or loads: a policy that says so, for a report opened from a share.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word}"
        "th{background:#eee}"
        ".dry{background:#fff3cd;border:2px solid #b58900;padding:.5em}h4{margin:.5em 0 .2em}</style>",
        f"</head><body><h1>{_esc(title)}</h1>",
    ]
    for section in sections:
        out.append(f"<h2>{_esc(section.title)}</h2>")
        for paragraph in section.paragraphs:
            dry = isinstance(paragraph[0], Strong) and paragraph[0].text.startswith("DRY RUN")
            opening = '<p class="dry">' if dry else "<p>"
            out.append(f"{opening}{_html_paragraph(paragraph)}</p>")
        for region, bars in section.bars:
            out += [f"<h4>Progress in {_esc(region)}</h4>", svg_bars(region, bars)]
        for table in section.tables:
            rows, more = _cap(table.rows)
            count = f" ({len(table.rows)})" if table.counted else ""
            out.append(f"<h3>{_esc(table.title)}{count}</h3>")
            if table.note:
                out.append(f"<p>{_esc(table.note)}</p>")
            if not rows:
                out.append("<p>None.</p>")
                continue
            out.append("<table><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in table.headers) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
            if more:
                out.append(f"<p>... and {more} more.</p>")
    out.append("</body></html>")
    return "\n".join(out)
