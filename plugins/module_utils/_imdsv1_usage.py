# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Private to the collection, not a public API: may change without notice.

IMDSv1 use as EC2 reports it to CloudWatch, per instance: MetadataNoToken (IMDSv1 calls IMDS answered) and
MetadataNoTokenRejected (IMDSv1 calls refused because tokens are required), in AWS/EC2 with the InstanceId
dimension. Read with GetMetricData in batches; turned into a verdict for the audit, and into the guard that keeps
metadata_options from requiring tokens while something still calls without one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import AwsError, aws_error
from ansible_collections.ec2meta.imds.plugins.module_utils._ec2_api import (
    DESCRIBE_ACTION,
    describe_fleet,
    options_from_api,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

NAMESPACE = "AWS/EC2"
NO_TOKEN = "MetadataNoToken"  # noqa: S105 - a metric name
NO_TOKEN_REJECTED = "MetadataNoTokenRejected"  # noqa: S105 - a metric name
METRICS = (NO_TOKEN, NO_TOKEN_REJECTED)
GET_METRIC_DATA_ACTION = "cloudwatch:GetMetricData"
# GetMetricData takes at most 500 queries a call; two per instance.
MAX_QUERIES = 500
# Hourly sums: "last seen" to the hour, and 14 days x 24 datapoints per query keep pages few.
PERIOD_SECONDS = 3600
DEFAULT_WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 455  # how long CloudWatch keeps hourly datapoints
USAGE_CHECKS = ("fail", "warn", "skip")


class Imdsv1InUse(AwsError):
    """metadata_options refused to require tokens: CloudWatch counted IMDSv1 calls in the window."""

    reason = "imdsv1_in_use"


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

    def as_dict(self) -> dict:
        return asdict(self)

    def add(self, metric: str, timestamps: Iterable[Any], values: Iterable[Any]) -> None:
        for moment, value in zip(timestamps, values):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not isinstance(moment, datetime):
                continue  # an answer we do not understand counts for nothing, and does not crash the module
            self.datapoints += 1
            if value <= 0:
                continue
            seen = iso(moment)
            if metric == NO_TOKEN:
                self.calls += round(value)
                self.last_seen = max(filter(None, (self.last_seen, seen)))
            else:
                self.rejected += round(value)
                self.last_rejected = max(filter(None, (self.last_rejected, seen)))


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(value: str) -> datetime:
    """An ISO 8601 time (``2026-11-20T15:00:00Z``); a time without zone is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ImdsConfigError(
            f"imdsv1_usage_since must be an ISO 8601 time like 2026-11-20T15:00:00Z, not {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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


@dataclass
class UsageRead:
    usage: dict  # instance_id -> Imdsv1Usage
    api_calls: int


def read_usage(
    cloudwatch: Any,
    instance_ids: list[str],
    window_days: float = DEFAULT_WINDOW_DAYS,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> UsageRead:
    """IMDSv1 use of each instance from ``since`` (default: ``window_days`` back) to now.

    Batches of 500 queries (250 instances) a GetMetricData call, every page of each. Raises AwsError
    (AwsAccessDenied naming cloudwatch:GetMetricData) when CloudWatch refuses.
    """
    now = now or datetime.now(timezone.utc)
    start = since or now - timedelta(days=window_days)
    window = round((now - start).total_seconds() / 86400, 3)
    usage = {instance_id: Imdsv1Usage(window_days=window, since=iso(start)) for instance_id in instance_ids}
    queries = metric_queries(list(usage))
    calls = 0
    for first in range(0, len(queries), MAX_QUERIES):
        batch = queries[first : first + MAX_QUERIES]
        by_id = {query["Id"]: (instance_id, metric) for instance_id, metric, query in batch}
        arguments = {
            "MetricDataQueries": [query for _instance, _metric, query in batch],
            "StartTime": start,
            # A minute ahead: CloudWatch (and moto) leave out a datapoint stamped in the second the window ends.
            "EndTime": now + timedelta(minutes=1),
            "ScanBy": "TimestampDescending",
        }
        while True:
            try:
                response = cloudwatch.get_metric_data(**arguments)
            except Exception as error:
                raise aws_error(error, GET_METRIC_DATA_ACTION) from None
            calls += 1
            response = response if isinstance(response, Mapping) else {}
            results = response.get("MetricDataResults")
            for result in results if isinstance(results, list) else []:
                target = by_id.get(result.get("Id")) if isinstance(result, Mapping) else None
                if target:
                    usage[target[0]].add(target[1], result.get("Timestamps") or [], result.get("Values") or [])
            token = response.get("NextToken")
            if not isinstance(token, str) or not token:
                break
            arguments["NextToken"] = token
    return UsageRead(usage, calls)


# ----------------------------------------------------------------------------- verdicts

# (verdict, applies to (options, usage), reason). The first that applies is the instance's verdict; the docs and
# the tests read this table too.
VERDICTS: tuple = (
    (
        "endpoint_disabled",
        lambda options, usage: options.get("http_endpoint") == "disabled",
        "the metadata endpoint is turned off (http_endpoint=disabled): nothing on the instance can use IMDS",
    ),
    (
        "no_data",
        lambda options, usage: usage.datapoints == 0,
        "CloudWatch has no MetadataNoToken datapoint since {since}: the instance was stopped or is new, so its "
        "IMDSv1 use is unknown",
    ),
    (
        "enforced_with_rejections",
        lambda options, usage: options.get("http_tokens") == "required" and usage.rejected > 0,
        "tokens are required and IMDS refused {rejected} IMDSv1 call(s) since {since}, the last at {last_rejected}: "
        "something on the instance still calls without a token and is broken now",
    ),
    (
        "enforced",
        lambda options, usage: options.get("http_tokens") == "required",
        "tokens are required and no IMDSv1 call was refused since {since}",
    ),
    (
        "uses_imdsv1",
        lambda options, usage: usage.calls > 0,
        "{calls} IMDSv1 call(s) since {since}, the last at {last_seen}: requiring tokens now would break that "
        "caller; update it to use IMDSv2 first",
    ),
    (
        "ready",
        lambda options, usage: True,
        "tokens are optional and no IMDSv1 call since {since}: tokens can be required",
    ),
)
VERDICT_NAMES = tuple(row[0] for row in VERDICTS)


def verdict(options: Mapping[str, Any], usage: Imdsv1Usage) -> tuple[str, str]:
    """(verdict, reason in words) of one instance."""
    # The last row always applies, so next() always finds one.
    name, _applies, reason = next(row for row in VERDICTS if row[1](options, usage))
    return name, reason.format(**usage.as_dict())


# ----------------------------------------------------------------------------- the audit


def _name_tag(instance: Mapping[str, Any]) -> str | None:
    tags = instance.get("Tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("Key") == "Name" and isinstance(tag.get("Value"), str):
            return tag["Value"]
    return None


def audit(
    ec2: Any,
    cloudwatch: Any,
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
    fleet = describe_fleet(ec2, instance_ids, filters, include_terminated, region)
    ids = list(dict.fromkeys(instance["InstanceId"] for instance in fleet.instances))
    read = read_usage(cloudwatch, ids, window_days, since=since, now=now)
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


def usage_guard(
    read: Callable[[], Imdsv1Usage],
    check: str,
    instance_id: str,
    warn: Callable[[str], None],
) -> Callable[[Mapping[str, Any], Mapping[str, Any]], dict | None]:
    """The ``before_change`` of ensure_metadata_options: before tokens become required, look at IMDSv1 use.

    ``check`` is fail (refuse while IMDSv1 is in use), warn (switch, and warn) or skip (do not read).
    """

    def guard(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict | None:
        if changes.get("http_tokens") != "required" or check == "skip":
            return None
        try:
            usage = read()
        except AwsError as error:
            cannot = (
                f"Could not read the IMDSv1 use of {instance_id} before requiring tokens: {error} "
                "The check never takes 'could not read' for 'not in use'. To switch without it, set "
                "imdsv1_usage_check=skip (or warn)."
            )
            if check == "fail":
                raise type(error)(cannot, code=error.code) from None
            warn(cannot)
            return None
        found = usage.as_dict()
        if usage.calls > 0:
            action = "Refusing to require" if check == "fail" else "Required"
            message = (
                f"{action} IMDSv2 (http_tokens=required) on "
                f"{instance_id} while IMDSv1 is in use: CloudWatch counted {usage.calls} IMDSv1 call(s) "
                f"(MetadataNoToken) since {usage.since} ({usage.window_days:g} days), the last at {usage.last_seen}. "
                "Once tokens are required those calls get 401 and whatever makes them breaks. Upgrade or fix the SDK, "
                "agent or script that still calls IMDS without a token (ec2meta.imds.probe shows what IMDS sees from "
                "the host), then wait until the window has no IMDSv1 call; or set imdsv1_usage_check=warn (switch and "
                "warn) or skip (do not look) to switch anyway."
            )
            if check == "fail":
                raise Imdsv1InUse(message, result={"imdsv1_usage": found})
            warn(message)
        elif usage.datapoints == 0:
            warn(
                f"CloudWatch has no MetadataNoToken datapoint for {instance_id} since {usage.since}: the instance "
                "is new or was stopped, so its IMDSv1 use could not be confirmed before requiring tokens."
            )
        return found

    return guard
