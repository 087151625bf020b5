# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IMDSv1 use from CloudWatch: reading GetMetricData answers (fail closed), findings, verdicts, the guard's table."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (
    FINDINGS,
    GUARD_DECISIONS,
    IN_USE,
    MAX_QUERIES,
    METRICS,
    NOT_IN_USE,
    REFUSE,
    SWITCH,
    SWITCH_WITH_WARNING,
    TOO_RECENT,
    UNKNOWN,
    USAGE_CHECKS,
    VERDICT_NAMES,
    VERDICTS,
    Imdsv1InUse,
    Imdsv1Usage,
    Imdsv1UsageUnknown,
    check_window,
    decide,
    guard_tokens_required,
    metric_queries,
    parse_since,
    read_usage,
    verdict,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    AwsAccessDenied,
    AwsBadResponse,
    AwsBudget,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
LONG_AGO = NOW - timedelta(days=100)
HOURS = [NOW - (back + 1) * HOUR for back in range(5)]


def budget() -> AwsBudget:
    return AwsBudget(60)


class CloudWatch:
    """GetMetricData answering each query from ``answer(metric, query_id)``: a result dict, or None to leave it out.

    ``pages`` splits nothing: every page answers every query again (the caller's answer function decides)."""

    def __init__(self, answer, extra=None, pages: int = 1):
        self.answer, self.extra, self.pages = answer, extra or {}, pages
        self.calls: list = []

    def get_metric_data(self, **arguments):
        self.calls.append(arguments)
        page = int(arguments.get("NextToken", "0"))
        results = []
        for query in arguments["MetricDataQueries"]:
            metric = query["MetricStat"]["Metric"]["MetricName"]
            result = self.answer(metric, query["Id"])
            if result is not None:
                results.append({"Id": query["Id"], **result})
        response = {"MetricDataResults": results, **self.extra}
        if page + 1 < self.pages:
            response["NextToken"] = str(page + 1)
        return response


def complete(values, hours=None):
    hours = hours or HOURS[: len(values)]
    return {"StatusCode": "Complete", "Timestamps": list(hours), "Values": list(values)}


def zeros(metric, _query_id):
    return complete([0.0] * 5)


def read_one(cloudwatch, launched=LONG_AGO) -> Imdsv1Usage:
    return read_usage(cloudwatch, {"i-1": launched}, budget(), 14, now=NOW).usage["i-1"]


# ----------------------------------------------------------------------------- a complete answer


def test_a_complete_answer_of_zeros_is_not_in_use():
    found = read_one(CloudWatch(zeros))
    assert (found.calls_state, found.rejected_state) == (NOT_IN_USE, NOT_IN_USE)
    assert (found.datapoints, found.witness_datapoints) == (5, 5)


def test_calls_are_summed_with_the_newest_hour_they_were_seen():
    def answer(metric, _query_id):
        return complete([0.0, 3.0, 2.0, 0.0, 0.0] if metric == "MetadataNoToken" else [0.0] * 5)

    found = read_one(CloudWatch(answer))
    assert (found.calls_state, found.calls, found.last_seen) == (IN_USE, 5, "2026-11-23T10:00:00Z")
    assert found.rejected_state == NOT_IN_USE


def test_queries_are_three_per_instance_with_unique_valid_ids():
    queries = metric_queries(["i-1", "i-2"])
    assert [(instance, metric) for instance, metric, _query in queries] == [
        (instance, metric) for instance in ("i-1", "i-2") for metric in METRICS
    ]
    assert [query["Id"] for _instance, _metric, query in queries] == [f"m{n}" for n in range(6)]
    assert METRICS == ("MetadataNoToken", "MetadataNoTokenRejected", "StatusCheckFailed")


@pytest.mark.parametrize(("instances", "pages", "calls"), [(1, 1, 1), (166, 1, 1), (167, 1, 2), (1000, 3, 21)])
def test_calls_grow_with_batches_and_pages_not_instances(instances, pages, calls):
    def answer(metric, query_id):
        return complete([0.0])

    # Every page answers with the same hour again: the later page's value wins, still one datapoint; the pages
    # themselves are what is counted here.
    cloudwatch = CloudWatch(answer, pages=pages)
    ids = {f"i-{number:017x}": LONG_AGO for number in range(instances)}
    read = read_usage(cloudwatch, ids, budget(), 14, now=NOW)
    assert read.api_calls == calls == len(cloudwatch.calls)
    assert all(len(call["MetricDataQueries"]) <= MAX_QUERIES for call in cloudwatch.calls)
    assert all(len(call["MetricDataQueries"]) % 3 == 0 for call in cloudwatch.calls)


# ----------------------------------------------------------------------------- what is not complete is unknown

ONE = complete([0.0])


@pytest.mark.parametrize(
    ("result", "cause"),
    [
        ({**ONE, "StatusCode": "InternalError"}, "not complete (StatusCode 'InternalError')"),
        ({**ONE, "StatusCode": "Forbidden"}, "not complete (StatusCode 'Forbidden')"),
        ({**ONE, "StatusCode": "PartialData", "Messages": [{"Code": "MaxMetricsExceeded"}]}, "MaxMetricsExceeded"),
        ({**ONE, "StatusCode": "PartialData"}, "not complete (StatusCode 'PartialData')"),
        ({**ONE, "StatusCode": None}, "not complete (StatusCode None)"),
        ({"Timestamps": [HOURS[0]], "Values": [0.0]}, "not complete (StatusCode None)"),
        ({**ONE, "Messages": [{"Code": "x", "Value": "something odd"}]}, "something odd"),
        ({**ONE, "Timestamps": []}, "0 timestamps beside 1 values"),
        ({**ONE, "Values": "0"}, "not lists"),
        ({**ONE, "Values": ["0"]}, "not a whole, non-negative number of calls ('0')"),
        ({**ONE, "Values": [-3.0]}, "not a whole, non-negative number of calls ('-3.0')"),
        ({**ONE, "Values": [0.4]}, "('0.4')"),
        ({**ONE, "Values": [math.nan]}, "('nan')"),
        ({**ONE, "Values": [math.inf]}, "('inf')"),
        ({**ONE, "Values": [True]}, "('True')"),
        ({**ONE, "Values": [None]}, "('None')"),
        ({**ONE, "Values": [10**4000]}, "not a whole, non-negative number of calls"),
        ({**ONE, "Values": [10**5000]}, "(a number too long to show)"),
        ({**ONE, "Values": [2**64]}, "not a whole, non-negative number of calls"),
        ({**ONE, "Messages": 5}, "a message this code cannot read"),
        ({**ONE, "Messages": "MaxMetricsExceeded"}, "a message this code cannot read"),
        ({**ONE, "Timestamps": ["2026-11-23T11:00:00Z"]}, "a timestamp that is not a time"),
        ({**complete([0.0, 0.0], [HOURS[0], HOURS[0]])}, "two datapoints for the same hour"),
    ],
)
@pytest.mark.parametrize("metric", ["MetadataNoToken", "StatusCheckFailed"])
def test_a_result_that_is_not_complete_and_well_formed_is_unknown(result, cause, metric):
    def answer(name, _query_id):
        return result if name == metric else ONE

    found = read_one(CloudWatch(answer))
    assert found.calls_state == UNKNOWN
    assert cause in found.calls_cause
    assert verdict({"http_tokens": "optional"}, found)[0] != "ready"


def test_a_query_left_unanswered_is_unknown():
    found = read_one(CloudWatch(lambda metric, _id: None if metric == "MetadataNoToken" else ONE))
    assert (found.calls_state, found.calls_cause) == (
        UNKNOWN,
        "MetadataNoToken could not be read completely: CloudWatch did not answer the query",
    )


@pytest.mark.parametrize("answer", [{}, {"MetricDataResults": None}, {"MetricDataResults": []}])
def test_an_empty_answer_is_unknown(answer):
    class Empty:
        def get_metric_data(self, **_arguments):
            return answer

    found = read_one(Empty())
    assert found.calls_state == found.rejected_state == UNKNOWN


def test_a_message_on_the_whole_answer_makes_every_query_unknown():
    found = read_one(CloudWatch(zeros, extra={"Messages": [{"Code": "Throttled", "Value": "partial"}]}))
    assert found.calls_state == UNKNOWN
    assert "partial" in found.calls_cause


@pytest.mark.parametrize(
    "answer",
    [
        "not an object",
        {"MetricDataResults": [{"Id": "m99", **ONE}]},
        {"MetricDataResults": "m0"},
        {"MetricDataResults": [{"Id": "m0", **ONE}, {"Id": "m0", **ONE}]},
        {"MetricDataResults": [{"Id": f"m{n}", **ONE} for n in range(4)]},
        {"MetricDataResults": [1]},
    ],
    ids=["not-an-object", "unasked-id", "not-a-list", "same-id-twice", "more-results-than-queries", "not-a-result"],
)
def test_an_answer_with_more_than_was_asked_is_a_bad_response(answer):
    class Odd:
        def get_metric_data(self, **_arguments):
            return answer

    with pytest.raises(AwsBadResponse):
        read_one(Odd())


def test_more_datapoints_than_hours_is_a_bad_response():
    many = [NOW - timedelta(minutes=minutes) for minutes in range(24 * 15 * 60 // 5)]
    with pytest.raises(AwsBadResponse, match="more hours than the window has"):
        read_one(CloudWatch(lambda metric, _id: complete([0.0] * len(many), many)))


# ----------------------------------------------------------------------------- no datapoints: the witness decides


def test_hours_the_witness_has_without_metadata_no_token_are_unknown_not_zero():
    def answer(metric, _query_id):
        return complete([0.0] * 5) if metric == "StatusCheckFailed" else complete([0.0, 0.0], HOURS[:2])

    found = read_one(CloudWatch(answer))
    assert found.calls_state == UNKNOWN
    assert "StatusCheckFailed for 3 hour(s) without MetadataNoToken" in found.calls_cause


def test_an_hour_that_has_not_settled_is_not_a_gap():
    recent = NOW - timedelta(minutes=30)

    def answer(metric, _query_id):
        return (
            complete([0.0, 0.0], [recent, HOURS[1]]) if metric == "StatusCheckFailed" else complete([0.0], [HOURS[1]])
        )

    found = read_usage(CloudWatch(answer), {"i-1": LONG_AGO}, budget(), now=NOW).usage["i-1"]
    assert found.calls_state == NOT_IN_USE


def test_nothing_at_all_for_an_instance_running_long_is_unknown():
    found = read_one(CloudWatch(lambda metric, _id: complete([])))
    assert found.calls_state == UNKNOWN
    assert "no MetadataNoToken datapoint" in found.calls_cause
    assert "nor any StatusCheckFailed" in found.calls_cause


def test_only_the_witness_for_an_instance_running_long_is_unknown():
    found = read_one(CloudWatch(lambda metric, _id: complete([0.0]) if metric == "StatusCheckFailed" else complete([])))
    assert found.calls_state == UNKNOWN


@pytest.mark.parametrize(("minutes", "state"), [(5, TOO_RECENT), (70, TOO_RECENT), (80, UNKNOWN), (600, UNKNOWN)])
def test_an_instance_launched_before_any_hour_closed_is_too_recent(minutes, state):
    found = read_one(CloudWatch(lambda metric, _id: complete([])), launched=NOW - timedelta(minutes=minutes))
    assert found.calls_state == state


# ----------------------------------------------------------------------------- property: fail closed

values = st.one_of(
    st.sampled_from([0.0, 0, 1.0, 2, 0.4, -1.0, math.nan, math.inf, -math.inf, True, None, "0", 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
)
timestamps = st.one_of(st.sampled_from(HOURS), st.sampled_from(["2026-11-23T11:00:00Z", None, 5]))
results = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "StatusCode": st.sampled_from(["Complete", "Complete", "PartialData", "InternalError", "Forbidden", None]),
            "Timestamps": st.lists(timestamps, max_size=5),
            "Values": st.lists(values, max_size=5),
        },
        optional={"Messages": st.lists(st.fixed_dictionaries({"Code": st.text(max_size=5)}), max_size=2)},
    ),
)


def is_complete_zero(result, witness) -> bool:
    """The only answers that may be 'not in use': judged here without the collection's code."""

    def clean(item):
        return (
            item is not None
            and item["StatusCode"] == "Complete"
            and not item.get("Messages")
            and len(item["Timestamps"]) == len(item["Values"])
            and len(set(map(str, item["Timestamps"]))) == len(item["Timestamps"])
            and all(isinstance(moment, datetime) for moment in item["Timestamps"])
            and all(
                isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
                for value in item["Values"]
            )
            and all(value == int(value) for value in item["Values"])
        )

    return (
        clean(result)
        and clean(witness)
        and bool(result["Values"])
        and all(value == 0 for value in result["Values"])
        and set(witness["Timestamps"]) <= set(result["Timestamps"])
    )


@given(result=results, witness=results, rejected=results)
def test_the_guard_never_finds_no_use_in_an_answer_that_is_not_a_complete_zero(result, witness, rejected):
    answers = {"MetadataNoToken": result, "StatusCheckFailed": witness, "MetadataNoTokenRejected": rejected}
    try:
        found = read_one(CloudWatch(lambda metric, _id: answers[metric]))
    except AwsBadResponse:
        return  # a refusal, never a "not in use"
    decision = decide("i-1", found, "fail")
    if found.calls_state == NOT_IN_USE:
        assert is_complete_zero(result, witness)
    else:
        assert decision.action == REFUSE or found.calls_state == TOO_RECENT


# ----------------------------------------------------------------------------- the decision table

EXPECTED_DECISIONS = {
    (IN_USE, "fail"): REFUSE,
    (IN_USE, "warn"): SWITCH_WITH_WARNING,
    (IN_USE, "skip"): SWITCH,
    (UNKNOWN, "fail"): REFUSE,
    (UNKNOWN, "warn"): SWITCH_WITH_WARNING,
    (UNKNOWN, "skip"): SWITCH,
    (TOO_RECENT, "fail"): SWITCH_WITH_WARNING,
    (TOO_RECENT, "warn"): SWITCH_WITH_WARNING,
    (TOO_RECENT, "skip"): SWITCH,
    (NOT_IN_USE, "fail"): SWITCH,
    (NOT_IN_USE, "warn"): SWITCH,
    (NOT_IN_USE, "skip"): SWITCH,
}


def usage_in(state: str) -> Imdsv1Usage:
    found = Imdsv1Usage(window_days=14, since="2026-11-09T12:00:00Z", calls_state=state, calls_cause="the cause")
    if state == IN_USE:
        found.calls, found.last_seen = 5, "2026-11-20T15:00:00Z"
    return found


def test_the_table_has_every_finding_and_mode():
    assert {(state, check) for state in FINDINGS for check in USAGE_CHECKS} == set(EXPECTED_DECISIONS)


@pytest.mark.parametrize(("state", "check"), sorted(EXPECTED_DECISIONS))
def test_decision_table_row(state, check):
    decision = decide("i-1", usage_in(state), check)
    assert decision.action == GUARD_DECISIONS[state][check] == EXPECTED_DECISIONS[(state, check)]
    if decision.action == SWITCH:
        assert decision.message is None
        return
    if state == IN_USE:
        assert "CloudWatch counted 5 IMDSv1 call(s)" in decision.message
    else:
        assert "the cause" in decision.message
    if decision.action == SWITCH_WITH_WARNING and state != TOO_RECENT:
        # The message fits the mode: it never tells a user who chose warn to set warn.
        assert f"imdsv1_usage_check is {check}" in decision.message
        assert "set imdsv1_usage_check" not in decision.message
    if decision.action == REFUSE:
        assert "set imdsv1_usage_check=warn" in decision.message


class Unreadable:
    def get_metric_data(self, **_arguments):
        raise AwsAccessDenied("AWS refused cloudwatch:GetMetricData (AccessDenied): lack the IAM permission")


@pytest.mark.parametrize(
    ("cloudwatch", "error"),
    [(CloudWatch(lambda metric, _id: complete([4.0])), Imdsv1InUse), (Unreadable(), Imdsv1UsageUnknown)],
)
def test_guard_refuses_under_fail_and_modifies_nothing(cloudwatch, error):
    with pytest.raises(error) as raised:
        guard_tokens_required(cloudwatch, budget(), {"InstanceId": "i-1", "LaunchTime": LONG_AGO}, "fail", 14, print)
    assert raised.value.result["imdsv1_usage"]["calls_state"] in (IN_USE, UNKNOWN)


def test_guard_under_warn_switches_and_names_the_cause():
    warnings: list = []
    usage = guard_tokens_required(Unreadable(), budget(), {"InstanceId": "i-1"}, "warn", 14, warnings.append)
    assert usage["calls_state"] == UNKNOWN
    assert "lack the IAM permission" in warnings[0]
    assert "never takes 'could not read' for 'not in use'" in warnings[0]


def test_guard_under_skip_reads_nothing():
    cloudwatch = CloudWatch(zeros)
    assert guard_tokens_required(cloudwatch, budget(), {"InstanceId": "i-1"}, "skip", 14, print) is None
    assert cloudwatch.calls == []


# ----------------------------------------------------------------------------- verdicts


def usage(**fields) -> Imdsv1Usage:
    return Imdsv1Usage(window_days=14, since="2026-11-09T12:00:00Z", **fields)


@pytest.mark.parametrize(
    ("options", "found", "expected"),
    [
        ({"http_endpoint": "disabled", "http_tokens": "optional"}, usage(calls_state=IN_USE), "endpoint_disabled"),
        ({"http_tokens": "optional"}, usage(calls_state=UNKNOWN, calls_cause="x"), "unknown"),
        ({"http_tokens": "optional"}, usage(calls_state=TOO_RECENT, calls_cause="x"), "too_recent"),
        ({"http_tokens": "required"}, usage(rejected_state=UNKNOWN, rejected_cause="x"), "unknown"),
        ({"http_tokens": "required"}, usage(rejected_state=TOO_RECENT, rejected_cause="x"), "too_recent"),
        ({"http_tokens": "required"}, usage(rejected=2, rejected_state=IN_USE), "enforced_with_rejections"),
        ({"http_tokens": "required"}, usage(calls=9, calls_state=IN_USE, rejected_state=NOT_IN_USE), "enforced"),
        ({"http_tokens": "optional"}, usage(calls=9, calls_state=IN_USE, last_seen="t"), "uses_imdsv1"),
        ({"http_tokens": "optional"}, usage(calls_state=NOT_IN_USE), "ready"),
        ({"http_tokens": "optional"}, usage(calls_state="a state nobody wrote"), "unknown"),
    ],
)
def test_verdicts(options, found, expected):
    name, reason = verdict(options, found)
    assert name == expected
    assert "{" not in reason


def test_ready_only_on_not_in_use():
    for state in FINDINGS:
        name, _reason = verdict({"http_tokens": "optional"}, usage(calls_state=state, calls_cause="x"))
        assert (name == "ready") == (state == NOT_IN_USE)


def test_every_verdict_is_documented():
    from ansible_collections.ec2meta.imds.plugins.modules import metadata_options_info

    assert len(VERDICTS) == 7
    for name in set(VERDICT_NAMES):
        assert f"V({name})" in metadata_options_info.DOCUMENTATION
        assert f"V({name})" in metadata_options_info.RETURN


# ----------------------------------------------------------------------------- input


def test_since_overrides_the_window():
    cloudwatch = CloudWatch(lambda metric, _id: complete([0.0]))
    read = read_usage(cloudwatch, {"i-1": None}, budget(), 14, since=NOW - 2 * HOUR, now=NOW)
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
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "must be an ISO 8601 time"),
        ("", "must be an ISO 8601 time"),
        ("2026-13-01", "must be an ISO 8601 time"),
        (5, "must be an ISO 8601 time"),
        ("9999-12-31T23:59:59-14:00", "must be an ISO 8601 time"),
        ("0001-01-01T00:00:00+14:00", "must be an ISO 8601 time"),
        ("0001-01-02T00:00:00Z", "more than 455 days back"),
        ("2027-01-01T00:00:00Z", "is in the future"),
    ],
)
def test_parse_since_refuses_what_is_not_a_usable_time(text, message):
    with pytest.raises(ImdsConfigError, match=f"imdsv1_usage_since .*{message}"):
        parse_since(text, now=NOW)


@pytest.mark.parametrize("days", [0, -1, 456, True, "14"])
def test_window_must_be_days_in_range(days):
    with pytest.raises(ImdsConfigError, match="imdsv1_usage_window must be a whole number of days from 1 to 455"):
        check_window(days)
