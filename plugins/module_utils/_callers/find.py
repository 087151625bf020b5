# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What ``imdsv1_callers`` reports: the trace log's callers and the SDK scan, with a one-line summary.
Private to the collection: not a public API."""

from __future__ import annotations

from dataclasses import replace

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import (
    ANALYZER_URL,
    LogLimits,
    check_limits,
    parse_since,
    read_callers,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import ScanLimits, scan
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError


def _caller_label(caller: dict) -> str:
    name = caller["name"]
    if name is None:
        parent = caller["parents"][0]["name"] if caller["parents"] else None
        name = f"an ended process (child of {parent})" if parent else "an ended process"
    return f"{name} (pid {caller['pid']}, {caller['count']} call{'s' if caller['count'] != 1 else ''})"


def summarize(
    callers: list, log: dict | None, outdated: list, scan_summary: dict | None, since: str | None = None
) -> str:
    """One sentence per part, for a debug task or a failure message."""
    parts = []
    if log is not None:
        v1 = [caller for caller in callers if caller["imds_version"] == "v1"]
        unknown = [caller for caller in callers if caller["imds_version"] == "unknown"]
        if not log["found"]:
            parts.append(
                f"No readable IMDS packet analyzer log at {log['path']}: install and run {ANALYZER_URL} to name the "
                "processes that call IMDSv1"
            )
        elif v1:
            parts.append(f"IMDSv1 callers: {', '.join(_caller_label(caller) for caller in v1[:5])}")
        else:
            parts.append("No IMDSv1 call in the analyzer's log" + (f" since {since}" if since else ""))
        if unknown:
            labels = ", ".join(_caller_label(caller) for caller in unknown[:5])
            parts.append(f"{len(unknown)} caller(s) with a missing payload (version unknown): {labels}")
        if log["found"] and not log["complete"]:
            parts.append(f"the log was not read completely ({log['stopped'] or 'a file could not be read'})")
    if scan_summary is not None:
        old = [finding for finding in outdated if finding["status"] == "outdated"]
        if old:
            named = ", ".join(f"{f['what']} {f['version']} at {f['where']} (needs {f['minimum']})" for f in old[:5])
            parts.append(f"SDKs too old for IMDSv2: {named}")
        else:
            parts.append("No SDK older than AWS's IMDSv2 minimums found")
        unknown_sdks = len(outdated) - len(old)
        if unknown_sdks:
            parts.append(f"{unknown_sdks} SDK(s) of unreadable version")
        if not scan_summary["complete"]:
            why = scan_summary["stopped"] or "paths missing or unreadable, see scan.roots"
            if scan_summary["archives_not_inspected_count"]:
                why += f"; {scan_summary['archives_not_inspected_count']} jar(s) inside archives not inspected"
            parts.append(f"the scan is incomplete ({why})")
    return ". ".join(parts) + "."


# Beyond these an option is a typo, and float() of a 400-digit integer raises OverflowError.
_MAXIMA = {"max_log_bytes": 2**50, "time_budget": 7 * 24 * 3600, "max_scan_entries": 10**9}


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ImdsConfigError(f"{name} must be a whole number greater than 0, not {str(value)[:64]!r}")
    if value > _MAXIMA[name]:
        shown = str(value) if len(str(value)) <= 64 else f"a number of {len(str(value))} digits"
        raise ImdsConfigError(f"{name} must be at most {_MAXIMA[name]}, not {shown}")
    return value


def _path_option(name: str, value: str) -> str:
    if "\0" in value:
        raise ImdsConfigError(f"{name} must be a path without a NUL character, not {value[:64]!r}")
    return value


def find_imdsv1_callers(
    *,
    log_path: str,
    read_log: bool = True,
    since: str | None = None,
    only_v1: bool = False,
    scan_paths: list | None = None,
    scan_system_paths: bool = True,
    max_log_bytes: int = LogLimits.max_bytes,
    time_budget: int = int(LogLimits.max_seconds),
    max_scan_entries: int = ScanLimits.max_entries,
) -> tuple:
    """(result, tokens): the module's result and the tokens scrubbed from it (for no_log_values)."""
    log_limits = replace(
        LogLimits(),
        max_bytes=_positive("max_log_bytes", max_log_bytes),
        max_seconds=float(_positive("time_budget", time_budget)),
    )
    check_limits(log_limits)
    scan_limits = replace(
        ScanLimits(), max_entries=_positive("max_scan_entries", max_scan_entries), max_seconds=float(time_budget)
    )
    moment = parse_since(since)
    for name, paths in (("log_path", [log_path or ""]), ("scan_paths", scan_paths or [])):
        for path in paths:
            _path_option(name, path)
    if not log_path and read_log:
        raise ImdsConfigError("log_path must name the analyzer's log (default /var/log/imds/imds-trace.log)")
    callers, log, tokens = (
        read_callers(log_path, since=moment, only_v1=only_v1, limits=log_limits) if read_log else ([], None, set())
    )
    scan_summary = None
    outdated: list = []
    if scan_paths or scan_system_paths:
        outdated, scan_summary = scan(list(scan_paths or []), include_system=scan_system_paths, limits=scan_limits)
    result = {
        "callers": callers,
        "log": log,
        "outdated_sdks": outdated,
        "scan": scan_summary,
        "summary": summarize(callers, log, outdated, scan_summary, moment.isoformat() if moment else None),
    }
    return result, tokens
