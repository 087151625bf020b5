# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IMDSv1 use from CloudWatch: sums and times, batching and pages, the verdict table, the guard."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import AwsAccessDenied, AwsThrottled
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._imdsv1_usage import (
    MAX_QUERIES,
    VERDICT_NAMES,
    VERDICTS,
    Imdsv1InUse,
    Imdsv1Usage,
    check_window,
    metric_queries,
    parse_since,
    read_usage,
    usage_guard,
    verdict,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def usage(**fields) -> Imdsv1Usage:
    return Imdsv1Usage(window_days=14, since="2026-11-09T12:00:00Z", **fields)


def test_usage_sums_and_keeps_the_newest_non_zero_time():
    found = usage()
    found.add("MetadataNoToken", [NOW - HOUR, NOW - 5 * HOUR, NOW - 2 * HOUR], [0.0, 3.0, 2.0])
    found.add("MetadataNoTokenRejected", [NOW - 3 * HOUR], [4.0])
    assert (found.calls, found.rejected, found.datapoints) == (5, 4, 4)
    assert found.last_seen == "2026-11-23T10:00:00Z"
    assert found.last_rejected == "2026-11-23T09:00:00Z"


def test_usage_ignores_what_it_does_not_understand():
    found = usage()
    found.add("MetadataNoToken", [NOW, "yesterday", NOW, NOW], [True, 1.0, "3", None])
    assert (found.calls, found.datapoints, found.last_seen) == (0, 0, None)


@pytest.mark.parametrize(
    ("options", "found", "expected"),
    [
        ({"http_endpoint": "disabled", "http_tokens": "optional"}, usage(calls=3, datapoints=2), "endpoint_disabled"),
        ({"http_endpoint": "enabled", "http_tokens": "optional"}, usage(), "no_data"),
        ({"http_endpoint": "enabled", "http_tokens": "required"}, usage(), "no_data"),
        ({"http_tokens": "required"}, usage(rejected=2, last_rejected="t", datapoints=3), "enforced_with_rejections"),
        ({"http_tokens": "required"}, usage(calls=9, datapoints=3), "enforced"),
        ({"http_tokens": "optional"}, usage(calls=9, last_seen="2026-11-20T15:00:00Z", datapoints=3), "uses_imdsv1"),
        ({"http_tokens": "optional"}, usage(datapoints=300), "ready"),
    ],
)
def test_verdicts(options, found, expected):
    name, reason = verdict(options, found)
    assert name == expected
    assert "{" not in reason
    if expected == "uses_imdsv1":
        assert reason.startswith("9 IMDSv1 call(s) since 2026-11-09T12:00:00Z, the last at 2026-11-20T15:00:00Z")


def test_every_verdict_is_reachable_and_documented():
    from ansible_collections.ec2meta.imds.plugins.modules import metadata_options_info

    assert len(VERDICT_NAMES) == len(set(VERDICT_NAMES)) == len(VERDICTS) == 6
    for name in VERDICT_NAMES:
        assert f"V({name})" in metadata_options_info.DOCUMENTATION
        assert f"V({name})" in metadata_options_info.RETURN


def test_queries_are_two_per_instance_with_unique_valid_ids():
    queries = metric_queries(["i-1", "i-2"])
    assert [(instance, metric) for instance, metric, _query in queries] == [
        ("i-1", "MetadataNoToken"),
        ("i-1", "MetadataNoTokenRejected"),
        ("i-2", "MetadataNoToken"),
        ("i-2", "MetadataNoTokenRejected"),
    ]
    assert [query["Id"] for _instance, _metric, query in queries] == ["m0", "m1", "m2", "m3"]
    assert queries[3][2]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "InstanceId", "Value": "i-2"}]


class PagedCloudWatch:
    """GetMetricData as CloudWatch pages it: each query's points split over ``pages`` answers."""

    def __init__(self, pages: int = 1):
        self.pages = pages
        self.calls: list[dict] = []

    def get_metric_data(self, **arguments):
        self.calls.append(arguments)
        page = int(arguments.get("NextToken", "0"))
        results = [
            {"Id": query["Id"], "Timestamps": [NOW - (page + 1) * HOUR], "Values": [1.0]}
            for query in arguments["MetricDataQueries"]
        ]
        answer = {"MetricDataResults": results}
        if page + 1 < self.pages:
            answer["NextToken"] = str(page + 1)
        return answer


@pytest.mark.parametrize(("instances", "pages", "calls"), [(1, 1, 1), (250, 1, 1), (251, 1, 2), (1000, 3, 12)])
def test_calls_grow_with_batches_and_pages_not_instances(instances, pages, calls):
    ids = [f"i-{number:017x}" for number in range(instances)]
    cloudwatch = PagedCloudWatch(pages)
    read = read_usage(cloudwatch, ids, 14, now=NOW)
    assert read.api_calls == calls == len(cloudwatch.calls)
    assert all(len(call["MetricDataQueries"]) <= MAX_QUERIES for call in cloudwatch.calls)
    assert all(found.calls == pages and found.rejected == pages for found in read.usage.values())
    assert read.usage[ids[-1]].last_seen == "2026-11-23T11:00:00Z"
    assert cloudwatch.calls[0]["StartTime"] == NOW - timedelta(days=14)


@pytest.mark.parametrize("answer", [None, "x", {"MetricDataResults": None}, {"MetricDataResults": [1, {"Id": 5}]}])
def test_odd_answers_count_for_nothing(answer):
    class Odd:
        def get_metric_data(self, **arguments):
            return answer

    found = read_usage(Odd(), ["i-1"], now=NOW).usage["i-1"]
    assert (found.calls, found.datapoints) == (0, 0)


def test_since_overrides_the_window():
    cloudwatch = PagedCloudWatch()
    read = read_usage(cloudwatch, ["i-1"], 14, since=NOW - 2 * HOUR, now=NOW)
    assert cloudwatch.calls[0]["StartTime"] == NOW - 2 * HOUR
    assert read.usage["i-1"].since == "2026-11-23T10:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T15:00:00Z", datetime(2026, 11, 20, 15, tzinfo=timezone.utc)),
        ("2026-11-20T15:00:00", datetime(2026, 11, 20, 15, tzinfo=timezone.utc)),
        ("2026-11-20T16:00:00+01:00", datetime(2026, 11, 20, 15, tzinfo=timezone.utc)),
    ],
)
def test_parse_since(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01"])
def test_parse_since_rejects_non_times(text):
    with pytest.raises(ImdsConfigError, match="imdsv1_usage_since must be an ISO 8601 time"):
        parse_since(text)


@pytest.mark.parametrize("days", [0, -1, 456, True, "14"])
def test_window_must_be_days_in_range(days):
    with pytest.raises(ImdsConfigError, match="imdsv1_usage_window must be a whole number of days from 1 to 455"):
        check_window(days)


# ----------------------------------------------------------------------------- the guard

TO_REQUIRED = {"http_tokens": "required"}


def reader(result):
    def read():
        read.calls += 1
        if isinstance(result, Exception):
            raise result
        return result

    read.calls = 0
    return read


def test_guard_refuses_with_the_count_the_time_and_what_to_do():
    read = reader(usage(calls=12, last_seen="2026-11-20T15:00:00Z", datapoints=5))
    with pytest.raises(Imdsv1InUse) as caught:
        usage_guard(read, "fail", "i-1", print)({}, TO_REQUIRED)
    message = str(caught.value)
    assert "Refusing to require IMDSv2 (http_tokens=required) on i-1 while IMDSv1 is in use" in message
    assert "counted 12 IMDSv1 call(s) (MetadataNoToken) since 2026-11-09T12:00:00Z (14 days)" in message
    assert "the last at 2026-11-20T15:00:00Z" in message
    assert "ec2meta.imds.probe" in message
    assert "imdsv1_usage_check=warn" in message
    assert caught.value.details()["imdsv1_usage"]["calls"] == 12


def test_guard_warn_switches_and_warns():
    warnings = []
    found = usage_guard(reader(usage(calls=2, datapoints=1)), "warn", "i-1", warnings.append)({}, TO_REQUIRED)
    assert found["calls"] == 2
    assert warnings[0].startswith("Required IMDSv2 (http_tokens=required) on i-1 while IMDSv1 is in use")


@pytest.mark.parametrize(
    ("check", "changes"),
    [("skip", TO_REQUIRED), ("fail", {"http_tokens": "optional"}), ("fail", {"instance_metadata_tags": "enabled"})],
)
def test_guard_does_not_read_when_it_has_no_business(check, changes):
    read = reader(usage(calls=5, datapoints=1))
    assert usage_guard(read, check, "i-1", print)({}, changes) is None
    assert read.calls == 0


def test_guard_without_data_switches_and_says_it_could_not_confirm():
    warnings = []
    found = usage_guard(reader(usage()), "fail", "i-1", warnings.append)({}, TO_REQUIRED)
    assert found["datapoints"] == 0
    assert "could not be confirmed" in warnings[0]


@pytest.mark.parametrize("error", [AwsAccessDenied("denied", code="AccessDenied"), AwsThrottled("slow", code="x")])
def test_guard_never_takes_a_failed_read_for_no_use(error):
    with pytest.raises(type(error), match=r"never takes 'could not read' for 'not in use'.*imdsv1_usage_check=skip"):
        usage_guard(reader(error), "fail", "i-1", print)({}, TO_REQUIRED)
    warnings = []
    assert usage_guard(reader(error), "warn", "i-1", warnings.append)({}, TO_REQUIRED) is None
    assert "Could not read the IMDSv1 use of i-1" in warnings[0]
