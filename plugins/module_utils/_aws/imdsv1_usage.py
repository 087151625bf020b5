# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Private to the collection, not a public API: may change without notice.

IMDSv1 use as EC2 reports it to CloudWatch, per instance: MetadataNoToken (IMDSv1 calls IMDS answered) and
MetadataNoTokenRejected (IMDSv1 calls refused because tokens are required), in AWS/EC2 with the InstanceId
dimension, read with GetMetricData next to a witness metric. What was read becomes a finding (``in_use``,
``not_in_use``, ``unknown`` with its cause, ``too_recent``); the audit turns findings into verdicts, and the guard
of metadata_options turns them into a decision with GUARD_DECISIONS.

Fail closed: only a complete, well-formed answer of zeros is ``not_in_use``. Whatever this code cannot read
completely is ``unknown``, never "not in use".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import (
    DESCRIBE_ACTION,
    describe_fleet,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import (
    options_from_api,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

NAMESPACE = "AWS/EC2"
NO_TOKEN = "MetadataNoToken"  # noqa: S105 - a metric name
NO_TOKEN_REJECTED = "MetadataNoTokenRejected"  # noqa: S105 - a metric name
# The witness: a metric EC2 publishes for every running instance, read over the same window. Where it has
# datapoints, CloudWatch was receiving the instance's metrics.
WITNESS = "StatusCheckFailed"
METRICS = (NO_TOKEN, NO_TOKEN_REJECTED, WITNESS)
GET_METRIC_DATA_ACTION = "cloudwatch:GetMetricData"
# GetMetricData takes at most 500 queries a call; three per instance.
MAX_QUERIES = 500
# Hourly sums: "last seen" to the hour, and 14 days x 24 datapoints per query keep pages few.
PERIOD_SECONDS = 3600
PERIOD = timedelta(seconds=PERIOD_SECONDS)
# How long EC2 takes to deliver a datapoint to CloudWatch, with margin: basic monitoring sends 5-minute data.
DELIVERY_DELAY = timedelta(minutes=15)
DEFAULT_WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 455  # how long CloudWatch keeps hourly datapoints
USAGE_CHECKS = ("fail", "warn", "skip")

# What a read found about one metric of one instance.
IN_USE = "in_use"
NOT_IN_USE = "not_in_use"
UNKNOWN = "unknown"
TOO_RECENT = "too_recent"
FINDINGS = (IN_USE, NOT_IN_USE, UNKNOWN, TOO_RECENT)

# The guard's decision table: finding x imdsv1_usage_check -> what metadata_options does before requiring tokens.
REFUSE = "refuse"
SWITCH_WITH_WARNING = "switch_with_warning"
SWITCH = "switch"
GUARD_DECISIONS: dict = {
    IN_USE: {"fail": REFUSE, "warn": SWITCH_WITH_WARNING, "skip": SWITCH},
    UNKNOWN: {"fail": REFUSE, "warn": SWITCH_WITH_WARNING, "skip": SWITCH},
    # Launched (or started) so recently that no hourly period has closed: nothing can be known yet, and
    # provisioning enforces right after launch. Switching is the point; the warning says what was not checked.
    TOO_RECENT: {"fail": SWITCH_WITH_WARNING, "warn": SWITCH_WITH_WARNING, "skip": SWITCH},
    NOT_IN_USE: {"fail": SWITCH, "warn": SWITCH, "skip": SWITCH},
}

# EC2 sends its instance metrics to CloudWatch for every 5 minutes an instance runs, zeros included ("By default,
# each data point covers the 5 minutes that follow the start time of activity for the instance"):
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html
# No AWS page says zero values of MetadataNoToken are left out. So an hour in which the witness has a datapoint and
# MetadataNoToken has none is a gap in what we know, never a zero.
ZERO_IS_PUBLISHED = True


class Imdsv1InUse(AwsError):
    """metadata_options refused to require tokens: CloudWatch counted IMDSv1 calls in the window."""

    reason = "imdsv1_in_use"


class Imdsv1UsageUnknown(AwsError):
    """metadata_options refused to require tokens: the IMDSv1 use could not be read completely."""

    reason = "imdsv1_usage_unknown"


@dataclass
class Series:
    """One metric of one instance as GetMetricData answered it, over every page."""

    points: dict = field(default_factory=dict)  # period start (datetime, UTC) -> value
    status: str | None = None  # the StatusCode of the last page that answered the query
    problem: str | None = None  # the first reason the series cannot be trusted


@dataclass
class Finding:
    state: str
    count: int = 0
    last_seen: str | None = None
    cause: str | None = None


@dataclass
class Imdsv1Usage:
    """One instance's IMDSv1 use over a window; times are UTC ISO 8601, None when never seen."""

    window_days: float
    since: str
    calls: int = 0
    rejected: int = 0
    last_seen: str | None = None
    last_rejected: str | None = None
    datapoints: int = 0
    witness_datapoints: int = 0
    calls_state: str = UNKNOWN
    calls_cause: str | None = None
    rejected_state: str = UNKNOWN
    rejected_cause: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def record(self, calls: Finding, rejected: Finding) -> None:
        self.calls, self.last_seen, self.calls_state, self.calls_cause = (
            calls.count,
            calls.last_seen,
            calls.state,
            calls.cause,
        )
        self.rejected, self.last_rejected, self.rejected_state, self.rejected_cause = (
            rejected.count,
            rejected.last_seen,
            rejected.state,
            rejected.cause,
        )

    def unreadable(self, cause: str) -> None:
        self.calls_state = self.rejected_state = UNKNOWN
        self.calls_cause = self.rejected_cause = cause


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


# A since this far ahead of the clock that checks it is a mistake, not clock skew between two hosts.
SINCE_CLOCK_SKEW = timedelta(minutes=5)


def parse_since(value: Any, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (``2026-11-20T15:00:00Z``) at most MAX_WINDOW_DAYS back; a time without zone is UTC."""
    example = "an ISO 8601 time like 2026-11-20T15:00:00Z"
    try:
        moment = _utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (ValueError, AttributeError, OverflowError):
        raise ImdsConfigError(f"imdsv1_usage_since must be {example}, not {value!r}") from None
    now = now or datetime.now(timezone.utc)
    if moment > now + SINCE_CLOCK_SKEW:
        raise ImdsConfigError(f"imdsv1_usage_since {value!r} is in the future: give {example} before now")
    if moment < now - timedelta(days=MAX_WINDOW_DAYS):
        raise ImdsConfigError(
            f"imdsv1_usage_since {value!r} is more than {MAX_WINDOW_DAYS} days back, longer than CloudWatch keeps "
            "hourly datapoints: give a later time"
        )
    return moment


def too_early_warning(instances: list, since: datetime) -> str | None:
    """What to tell a caller who asked about the time since ``since`` (a switch) too soon to know anything.

    Only with a since: over a window of days an instance that is too recent has just been launched, and its
    verdict says so. Names when to ask again: the first hour after ``since`` closes, and CloudWatch has it
    DELIVERY_DELAY later.
    """
    waiting = [entry["instance_id"] for entry in instances if entry.get("verdict") == TOO_RECENT]
    if not waiting:
        return None
    shown = ", ".join(waiting[:10]) + (f" and {len(waiting) - 10} more" if len(waiting) > 10 else "")
    return (
        f"Too early to tell whether IMDS refused, or answered, IMDSv1 calls since {iso(since)} on {shown}: "
        "CloudWatch counts them per hour and has no closed hour since then yet. Run "
        f"ec2meta.imds.metadata_options_info with imdsv1_usage_since={iso(since)} again after "
        f"{iso(since + PERIOD + DELIVERY_DELAY)} (later for an instance started since); a verdict of "
        "enforced_with_rejections then names the refused calls."
    )


def check_window(days: Any) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise ImdsConfigError(
            f"imdsv1_usage_window must be a whole number of days from 1 to {MAX_WINDOW_DAYS}, not {days!r}: "
            f"{DEFAULT_WINDOW_DAYS} covers weekly and fortnightly jobs"
        )


def metric_queries(instance_ids: list[str]) -> list[tuple[str, str, dict]]:
    """(instance_id, metric, query) for every instance and metric; query ids are unique and valid (m0, m1...)."""
    queries = []
    for instance_id in instance_ids:
        for metric in METRICS:
            query = {
                "Id": f"m{len(queries)}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": metric,
                        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    },
                    "Period": PERIOD_SECONDS,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            queries.append((instance_id, metric, query))
    return queries


# ----------------------------------------------------------------------------- reading the answer


# More IMDSv1 calls in one hour than any instance can make: an answer that says so is not read as a count.
MAX_CALLS_PER_HOUR = 10**12


def _count(value: Any) -> float | None:
    """A sum of calls: a finite, non-negative whole number (of a sane size); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return value if 0 <= value <= MAX_CALLS_PER_HOUR else None


def _shown(value: Any) -> str:
    """A short, quoted view of a value from an answer (Python refuses to print ints of more than 4300 digits)."""
    try:
        return repr(str(value)[:40])
    except ValueError:
        return "a number too long to show"


def _messages(container: Mapping[str, Any]) -> str | None:
    messages = container.get("Messages")
    if messages is None or (isinstance(messages, list) and not messages):
        return None
    if not isinstance(messages, list):
        return "a message this code cannot read"
    texts = [str(item.get("Value") or item.get("Code") or "")[:200] for item in messages if isinstance(item, Mapping)]
    return "; ".join(filter(None, texts)) or "a message this code cannot read"


def add_result(series: Series, result: Mapping[str, Any], max_points: int) -> None:
    """One page's result for the query of ``series``. A problem marks the series; too many datapoints raise."""
    status = result.get("StatusCode")
    series.status = status if isinstance(status, str) else None
    message = _messages(result)
    if message and not series.problem:
        series.problem = f"CloudWatch attached a message to the answer ({message})"
    timestamps, values = result.get("Timestamps"), result.get("Values")
    timestamps = [] if timestamps is None else timestamps
    values = [] if values is None else values
    if not isinstance(timestamps, list) or not isinstance(values, list):
        series.problem = series.problem or "timestamps or values that are not lists"
        return
    if len(timestamps) != len(values):
        series.problem = series.problem or f"{len(timestamps)} timestamps beside {len(values)} values"
        return
    for moment, value in zip(timestamps, values):
        if not isinstance(moment, datetime):
            series.problem = series.problem or f"a timestamp that is not a time ({_shown(moment)})"
            continue
        count = _count(value)
        if count is None:
            series.problem = series.problem or (
                f"a value that is not a whole, non-negative number of calls ({_shown(value)})"
            )
            continue
        moment = _utc(moment)
        if moment in series.points:
            series.problem = series.problem or f"two datapoints for the same hour ({iso(moment)})"
        series.points[moment] = count
        if len(series.points) > max_points:
            raise AwsBadResponse(
                f"{GET_METRIC_DATA_ACTION} sent more than {max_points} datapoints for one query, more hours than the "
                "window has: the answer holds more than was asked for. Check endpoint_url"
            )


def read_series(cloudwatch: Any, budget: Any, queries: list, start: datetime, end: datetime) -> dict:
    """{query id: Series} for one batch of queries, over every page.

    A structurally impossible answer (a result for a query not asked, the same query twice in a page, more
    datapoints than hours) is an AwsBadResponse; a query answered badly or not at all has a ``problem``.
    """
    series = {query["Id"]: Series() for _instance, _metric, query in queries}
    answered: set = set()
    max_points = int((end - start) / PERIOD) + 2
    arguments = {
        "MetricDataQueries": [query for _instance, _metric, query in queries],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampDescending",
    }
    for response in budget.pages(cloudwatch.get_metric_data, arguments, GET_METRIC_DATA_ACTION):
        message = _messages(response)
        results = response.get("MetricDataResults")
        results = [] if results is None else results
        if not isinstance(results, list) or len(results) > len(series):
            raise AwsBadResponse(
                f"{GET_METRIC_DATA_ACTION} answered with more results than the {len(series)} queries asked, or "
                "with results that are not a list. Check endpoint_url"
            )
        on_this_page: set = set()
        for result in results:
            query_id = result.get("Id") if isinstance(result, Mapping) else None
            if query_id not in series or query_id in on_this_page:
                raise AwsBadResponse(
                    f"{GET_METRIC_DATA_ACTION} answered a query that was not asked, or one query twice in a page "
                    f"({_shown(query_id)}). Check endpoint_url"
                )
            on_this_page.add(query_id)
            answered.add(query_id)
            add_result(series[query_id], result, max_points)
        if message:
            for found in series.values():
                found.problem = found.problem or f"CloudWatch attached a message to the answer ({message})"
    for query_id, found in series.items():
        if query_id not in answered:
            found.problem = found.problem or "CloudWatch did not answer the query"
        elif found.status != "Complete" and not found.problem:
            found.problem = f"CloudWatch's answer was not complete (StatusCode {found.status and found.status[:40]!r})"
    return series


# ----------------------------------------------------------------------------- findings


def assess(
    metric: Series,
    witness: Series,
    *,
    opened: datetime,
    now: datetime,
    name: str = NO_TOKEN,
) -> Finding:
    """What ``metric`` says about IMDSv1 use since ``opened`` (the later of the window's start and the launch)."""
    if metric.problem:
        return Finding(UNKNOWN, cause=f"{name} could not be read completely: {metric.problem}")
    used = {moment: value for moment, value in metric.points.items() if value > 0}
    if used:
        return Finding(IN_USE, int(sum(used.values())), iso(max(used)))
    if witness.problem:
        return Finding(UNKNOWN, cause=f"the witness metric {WITNESS} could not be read completely: {witness.problem}")
    settled = now - DELIVERY_DELAY
    gaps = sorted(moment for moment in witness.points if moment not in metric.points and moment + PERIOD <= settled)
    if gaps:
        return Finding(
            UNKNOWN,
            cause=(
                f"CloudWatch has {WITNESS} for {len(gaps)} hour(s) without {name} (the first at {iso(gaps[0])}): EC2 "
                f"publishes {name} for every hour an instance runs, zeros included, so those hours are unknown, "
                "not zero"
            ),
        )
    if metric.points:
        return Finding(NOT_IN_USE)
    if now - opened < PERIOD + DELIVERY_DELAY:
        return Finding(
            TOO_RECENT,
            cause=(
                f"the instance started, or the window opened, at {iso(opened)}: no hourly period has closed and "
                "reached CloudWatch since, so nothing can be known yet"
            ),
        )
    nor_witness = "" if witness.points else f", nor any {WITNESS}"
    return Finding(
        UNKNOWN,
        cause=(
            f"CloudWatch has no {name} datapoint since {iso(opened)}{nor_witness}: the instance was stopped the "
            "whole window, the region is not the instance's, or its metrics do not reach CloudWatch"
        ),
    )


@dataclass
class UsageRead:
    usage: dict  # instance_id -> Imdsv1Usage
    api_calls: int


def read_usage(
    cloudwatch: Any,
    instances: Mapping[str, datetime | None],
    budget: Any,
    window_days: float = DEFAULT_WINDOW_DAYS,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> UsageRead:
    """IMDSv1 use of each instance (id -> launch time, None when unknown) from ``since`` (default: ``window_days``
    back) to now, in batches of MAX_QUERIES queries a GetMetricData call. AwsErrors (AwsAccessDenied naming
    cloudwatch:GetMetricData, AwsBadResponse, AwsTimeout) propagate."""
    now = now or datetime.now(timezone.utc)
    start = since or now - timedelta(days=window_days)
    window = round((now - start).total_seconds() / 86400, 3)
    usage = {instance_id: Imdsv1Usage(window_days=window, since=iso(start)) for instance_id in instances}
    queries = metric_queries(list(usage))
    calls = 0
    per_call = MAX_QUERIES - MAX_QUERIES % len(METRICS)
    for first in range(0, len(queries), per_call):
        last = first + per_call
        batch = queries[first:last]
        # A minute ahead: CloudWatch (and moto) leave out a datapoint stamped in the second the window ends.
        pages_before = budget.pages_read
        series = read_series(cloudwatch, budget, batch, start, now + timedelta(minutes=1))
        calls += budget.pages_read - pages_before
        by_instance: dict = {}
        for instance_id, metric, query in batch:
            by_instance.setdefault(instance_id, {})[metric] = series[query["Id"]]
        for instance_id, found in by_instance.items():
            launched = instances.get(instance_id)
            opened = max(start, _utc(launched)) if isinstance(launched, datetime) else start
            item = usage[instance_id]
            item.datapoints = len(found[NO_TOKEN].points)
            item.witness_datapoints = len(found[WITNESS].points)
            item.record(
                assess(found[NO_TOKEN], found[WITNESS], opened=opened, now=now),
                assess(found[NO_TOKEN_REJECTED], found[WITNESS], opened=opened, now=now, name=NO_TOKEN_REJECTED),
            )
    return UsageRead(usage, calls)


# ----------------------------------------------------------------------------- verdicts


def _required(options: Mapping[str, Any]) -> bool:
    return options.get("http_tokens") == "required"


def _finding_that_matters(options: Mapping[str, Any], usage: Imdsv1Usage) -> str:
    """Where tokens are required, refused calls tell what is broken; where optional, answered ones what would be."""
    return usage.rejected_state if _required(options) else usage.calls_state


# (verdict, applies to (options, usage), reason). The first that applies is the instance's verdict; the docs and
# the tests read this table too.
VERDICTS: tuple = (
    (
        "endpoint_disabled",
        lambda options, usage: options.get("http_endpoint") == "disabled",
        "the metadata endpoint is turned off (http_endpoint=disabled): nothing on the instance can use IMDS",
    ),
    (
        "enforced_with_rejections",
        lambda options, usage: _required(options) and usage.rejected_state == IN_USE,
        "tokens are required and IMDS refused {rejected} IMDSv1 call(s) since {since}, the last at {last_rejected}: "
        "something on the instance still calls without a token and is broken now",
    ),
    (
        "uses_imdsv1",
        lambda options, usage: not _required(options) and usage.calls_state == IN_USE,
        "{calls} IMDSv1 call(s) since {since}, the last at {last_seen}: requiring tokens now would break that "
        "caller; update it to use IMDSv2 first",
    ),
    (
        "unknown",
        lambda options, usage: _finding_that_matters(options, usage) == UNKNOWN,
        "the IMDSv1 use since {since} is unknown: {cause}",
    ),
    (
        "too_recent",
        lambda options, usage: _finding_that_matters(options, usage) == TOO_RECENT,
        "too early to tell: {cause}",
    ),
    (
        "enforced",
        lambda options, usage: _required(options),
        "tokens are required and CloudWatch counted no refused IMDSv1 call since {since}",
    ),
    (
        "ready",
        lambda options, usage: usage.calls_state == NOT_IN_USE,
        "tokens are optional and CloudWatch counted no IMDSv1 call since {since}: tokens can be required",
    ),
)
VERDICT_NAMES = tuple(row[0] for row in VERDICTS)


def verdict(options: Mapping[str, Any], usage: Imdsv1Usage) -> tuple[str, str]:
    """(verdict, reason in words) of one instance."""
    found = usage.as_dict()
    found["cause"] = usage.rejected_cause if _required(options) else usage.calls_cause
    for name, applies, reason in VERDICTS:
        if applies(options, usage):
            return name, reason.format(**found)
    # Every state is covered above; a state this table does not know is unknown, never ready.
    return "unknown", f"the IMDSv1 use since {usage.since} is unknown: {found['cause']}"


# ----------------------------------------------------------------------------- the audit


def _name_tag(instance: Mapping[str, Any]) -> str | None:
    tags = instance.get("Tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("Key") == "Name" and isinstance(tag.get("Value"), str):
            return tag["Value"]
    return None


def launch_time(instance: Mapping[str, Any]) -> datetime | None:
    moment = instance.get("LaunchTime")
    return moment if isinstance(moment, datetime) else None


def audit(
    ec2: Any,
    cloudwatch: Any,
    budget: Any,
    *,
    instance_ids: list[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    include_terminated: bool = False,
    window_days: int = DEFAULT_WINDOW_DAYS,
    since: datetime | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> dict:
    """The selected instances' options, IMDSv1 use and verdicts, a count per verdict, and the API calls made."""
    fleet = describe_fleet(ec2, budget, instance_ids, filters, include_terminated, region)
    launched = {instance["InstanceId"]: launch_time(instance) for instance in fleet.instances}
    read = read_usage(cloudwatch, launched, budget, window_days, since=since, now=now)
    instances = []
    summary = dict.fromkeys(VERDICT_NAMES, 0)
    for instance in fleet.instances:
        options = options_from_api(instance.get("MetadataOptions"))
        usage = read.usage[instance["InstanceId"]]
        name, reason = verdict(options, usage)
        summary[name] += 1
        state = instance.get("State") if isinstance(instance.get("State"), Mapping) else {}
        instances.append(
            {
                "instance_id": instance["InstanceId"],
                "name": _name_tag(instance),
                "state": state.get("Name"),
                "metadata_options": options,
                "imdsv1_usage": usage.as_dict(),
                "verdict": name,
                "verdict_reason": reason,
            }
        )
    return {
        "instances": instances,
        "summary": summary,
        "api_calls": {DESCRIBE_ACTION: fleet.pages, GET_METRIC_DATA_ACTION: read.api_calls},
    }


# ----------------------------------------------------------------------------- the guard of metadata_options


def read_instance_usage(
    cloudwatch: Any, budget: Any, instance: Mapping[str, Any], window_days: int, now: datetime | None = None
) -> Imdsv1Usage:
    """One instance's usage; a read that fails is a usage whose findings are ``unknown`` with the failure as
    cause (the guard never takes "could not read" for "not in use")."""
    instance_id = instance["InstanceId"]
    try:
        return read_usage(cloudwatch, {instance_id: launch_time(instance)}, budget, window_days, now=now).usage[
            instance_id
        ]
    except AwsError as error:
        now = now or datetime.now(timezone.utc)
        usage = Imdsv1Usage(window_days=window_days, since=iso(now - timedelta(days=window_days)))
        usage.unreadable(f"{error} (reason {error.reason})")
        return usage


@dataclass(frozen=True)
class GuardDecision:
    action: str  # REFUSE, SWITCH_WITH_WARNING or SWITCH
    message: str | None
    usage: dict


def guard_message(instance_id: str, usage: Imdsv1Usage, check: str, action: str) -> str | None:
    """The refusal or warning for ``usage`` under ``check``, fitting what ``action`` does."""
    if action == SWITCH:
        return None
    switched = action == SWITCH_WITH_WARNING
    other_modes = (
        f"This task switched because imdsv1_usage_check is {check}; the default, fail, would have refused."
        if switched
        else "To switch anyway, set imdsv1_usage_check=warn (switch and warn) or skip (do not look)."
    )
    head = "Required" if switched else "Refusing to require"
    if usage.calls_state == IN_USE:
        return (
            f"{head} IMDSv2 (http_tokens=required) on {instance_id} while IMDSv1 is in use: CloudWatch counted "
            f"{usage.calls} IMDSv1 call(s) (MetadataNoToken) since {usage.since} ({usage.window_days:g} days), the "
            f"last at {usage.last_seen}. Once tokens are required those calls get 401 and whatever makes them breaks. "
            "Upgrade or fix the SDK, agent or script that still calls IMDS without a token "
            "(ec2meta.imds.imdsv1_callers names it on the host; ec2meta.imds.probe shows what IMDS sees), then wait "
            f"until the window has no IMDSv1 call. {other_modes}"
        )
    if usage.calls_state == TOO_RECENT:
        return (
            f"Required IMDSv2 (http_tokens=required) on {instance_id} without knowing its IMDSv1 use: "
            f"{usage.calls_cause}. Check the instance's software for IMDSv1 callers before it goes into service."
        )
    return (
        f"{head} IMDSv2 (http_tokens=required) on {instance_id} without knowing whether anything still calls "
        f"IMDSv1: {usage.calls_cause}. The check never takes 'could not read' for 'not in use'. {other_modes}"
    )


def decide(instance_id: str, usage: Imdsv1Usage, check: str) -> GuardDecision:
    """The guard's decision for ``usage`` under ``check`` (fail, warn or skip), from GUARD_DECISIONS."""
    action = GUARD_DECISIONS.get(usage.calls_state, GUARD_DECISIONS[UNKNOWN])[check]
    return GuardDecision(action, guard_message(instance_id, usage, check, action), usage.as_dict())


def guard_tokens_required(
    cloudwatch: Any,
    budget: Any,
    instance: Mapping[str, Any],
    check: str,
    window_days: int,
    warn: Callable[[str], None],
    now: datetime | None = None,
) -> dict | None:
    """Before tokens become required: read the instance's IMDSv1 use and refuse (raise) or warn as the table says.

    Returns what was read (the result's ``imdsv1_usage``), None under skip.
    """
    if check == "skip":
        return None
    usage = read_instance_usage(cloudwatch, budget, instance, window_days, now)
    decision = decide(instance["InstanceId"], usage, check)
    if decision.action == REFUSE:
        error = Imdsv1InUse if usage.calls_state == IN_USE else Imdsv1UsageUnknown
        raise error(decision.message, result={"imdsv1_usage": decision.usage})
    if decision.message:
        warn(decision.message)
    return decision.usage


def refusal_reason(calls_state: str) -> str:
    """The ``reason`` of a refusal, by the usage's ``calls_state`` (the error guard_tokens_required raises)."""
    return Imdsv1InUse.reason if calls_state == IN_USE else Imdsv1UsageUnknown.reason


def guard_decisions(
    cloudwatch: Any,
    budget: Any,
    instances: list,
    check: str,
    window_days: int,
    now: datetime | None = None,
) -> dict:
    """{instance_id: GuardDecision} for many instances (DescribeInstances entries) in batched GetMetricData calls.

    The same rules as guard_tokens_required, one instance at a time: GUARD_DECISIONS over each instance's usage. A
    batch whose read fails makes every instance in it ``unknown`` with the failure as cause (fail closed), and only
    those: the others were read completely. Under skip, nothing is read and every instance switches.
    """
    if check == "skip":
        return {instance["InstanceId"]: GuardDecision(SWITCH, None, None) for instance in instances}
    now = now or datetime.now(timezone.utc)
    per_call = MAX_QUERIES // len(METRICS)
    decisions: dict = {}
    for first in range(0, len(instances), per_call):
        last = first + per_call
        batch = instances[first:last]
        launched = {instance["InstanceId"]: launch_time(instance) for instance in batch}
        try:
            usages = read_usage(cloudwatch, launched, budget, window_days, now=now).usage
        except AwsError as error:
            usages = {}
            for instance_id in launched:
                usage = Imdsv1Usage(window_days=window_days, since=iso(now - timedelta(days=window_days)))
                usage.unreadable(f"{error} (reason {error.reason})")
                usages[instance_id] = usage
        for instance_id, usage in usages.items():
            decisions[instance_id] = decide(instance_id, usage, check)
    return decisions
