# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile EC2 + CloudWatch API on 127.0.0.1, driven by a table of answer classes.

EC2 is answered in its query protocol (XML), CloudWatch in the protocol botocore uses for it (JSON 1.0, the
action in X-Amz-Target).
DescribeInstances describes one instance with IMDSv1 allowed unless a scenario says otherwise; every
ModifyInstanceMetadataOptions is recorded in ``modified`` (and answered), so a test can prove that nothing was
changed. Each scenario in SCENARIOS is one class of misbehaviour: endless or repeating pages, an answer dripped
a byte at a time, bodies over the size cap, malformed or incomplete GetMetricData results.

    python tests/emulator/hostile_aws.py --scenario NAME     # prints {"url": ...} and serves until killed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs

INSTANCE_ID = "i-0123456789abcdef0"
LAUNCHED = "2026-01-05T10:00:00.000Z"  # long ago: a missing datapoint is not excused as "too recent"
HOUR = 3600
JSON_TYPE = "application/x-amz-json-1.0"


class Epoch(float):
    """A timestamp as the JSON protocol carries it: epoch seconds."""


def as_json(value: Any) -> bytes:
    # allow_nan: json.dumps writes NaN and Infinity, which botocore's parser (json.loads) takes, as a hostile
    # endpoint would send them.
    return json.dumps(value, allow_nan=True).encode()


# ----------------------------------------------------------------------------- answers


@dataclass
class Answer:
    body: Iterator[bytes] | bytes
    status: int = 200
    content_type: str = "text/xml"
    drip_seconds: float = 0.0  # pause before each chunk
    length: int | None = None  # a Content-Length to announce; None: chunked when the body is an iterator


def instance_xml(http_tokens: str = "optional") -> str:
    return (
        f"<item><instanceId>{INSTANCE_ID}</instanceId><instanceState><code>16</code><name>running</name>"
        f"</instanceState><launchTime>{LAUNCHED}</launchTime><metadataOptions><state>applied</state>"
        f"<httpTokens>{http_tokens}</httpTokens><httpPutResponseHopLimit>1</httpPutResponseHopLimit>"
        "<httpEndpoint>enabled</httpEndpoint><httpProtocolIpv6>disabled</httpProtocolIpv6>"
        "<instanceMetadataTags>disabled</instanceMetadataTags></metadataOptions></item>"
    )


def describe_xml(next_token: str | None = None, instances: int = 1, http_tokens: str = "optional") -> bytes:
    token = f"<nextToken>{next_token}</nextToken>" if next_token else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse '
        'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item>'
        f"<reservationId>r-1</reservationId><instancesSet>{instance_xml(http_tokens) * instances}</instancesSet></item>"
        f"</reservationSet>{token}</DescribeInstancesResponse>"
    ).encode()


def modify_xml() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ModifyInstanceMetadataOptionsResponse '
        'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>'
        f"<instanceId>{INSTANCE_ID}</instanceId><instanceMetadataOptions><state>pending</state>"
        "<httpTokens>required</httpTokens></instanceMetadataOptions></ModifyInstanceMetadataOptionsResponse>"
    ).encode()


def hours(count: int) -> list:
    now = time.time() // HOUR * HOUR
    return [Epoch(now - (back + 2) * HOUR) for back in range(count)]


def result(query_id: str, values: list, stamps: list | None = None, status: Any = "Complete", **extra: Any) -> dict:
    return {
        "Id": query_id,
        "Label": query_id,
        "Timestamps": hours(len(values)) if stamps is None else stamps,
        "Values": values,
        "StatusCode": status,
        **extra,
    }


QUERY_IDS = ("m0", "m1", "m2")  # MetadataNoToken, MetadataNoTokenRejected, StatusCheckFailed of one instance


def metric_data(results: list, **extra: Any) -> Answer:
    return Answer(as_json({"MetricDataResults": results, **extra}), content_type=JSON_TYPE)


def zeros() -> list:
    return [result(query_id, [0.0, 0.0]) for query_id in QUERY_IDS]


def with_no_token(**changes: Any) -> Answer:
    """A complete zero answer but for MetadataNoToken (m0), changed as given."""
    results = zeros()
    results[0] = {**results[0], **changes}
    return metric_data(results)


def dripped(data: bytes, seconds: float) -> Answer:
    return Answer(iter(bytes([byte]) for byte in data), drip_seconds=seconds, length=len(data))


def endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


def numbered_tokens() -> Callable[[int], Answer]:
    return lambda call: Answer(describe_xml(f"token-{call}"))


# ----------------------------------------------------------------------------- the table of answer classes


@dataclass(frozen=True)
class Scenario:
    name: str
    describe: Callable[[int], Answer] | None = None  # None: the instance as it is (Modify changes it)
    metric_data: Callable[[int], Answer] = lambda call: metric_data(zeros())
    # What metadata_options (http_tokens=required, imdsv1_usage_check=fail) ends with: a reason, or "changed".
    expected_reason: str = "imdsv1_usage_unknown"
    note: str = ""


BIG = 17 * 1024 * 1024
SCENARIOS: tuple = (
    Scenario("complete_zero", expected_reason="changed", note="the control: a complete answer of zeros"),
    Scenario(
        "imdsv1_in_use", metric_data=lambda call: with_no_token(Values=[2.0, 0.0]), expected_reason="imdsv1_in_use"
    ),
    # GetMetricData: results that are not complete or not well formed
    Scenario("status_internal_error", metric_data=lambda call: with_no_token(StatusCode="InternalError")),
    Scenario("status_forbidden", metric_data=lambda call: with_no_token(StatusCode="Forbidden")),
    Scenario(
        "status_partial_data",
        metric_data=lambda call: with_no_token(StatusCode="PartialData", Messages=[{"Code": "MaxMetricsExceeded"}]),
    ),
    Scenario("empty_body", metric_data=lambda call: Answer(as_json({}), content_type=JSON_TYPE)),
    Scenario(
        "unasked_ids",
        metric_data=lambda call: metric_data([result(f"x{index}", [0.0]) for index in range(3)]),
        expected_reason="imdsv1_usage_unknown",
        note="read as a bad_response, refused as unknown",
    ),
    Scenario("timestamps_empty", metric_data=lambda call: with_no_token(Timestamps=[])),
    Scenario("values_text", metric_data=lambda call: with_no_token(Values=["0", "0"])),
    Scenario("negative_sums", metric_data=lambda call: with_no_token(Values=[-5.0, -1.0])),
    Scenario("fractions", metric_data=lambda call: with_no_token(Values=[0.4, 0.4])),
    Scenario("not_finite", metric_data=lambda call: with_no_token(Values=[math.nan, math.inf])),
    Scenario("no_datapoints_no_witness", metric_data=lambda call: metric_data([result(q, []) for q in QUERY_IDS])),
    Scenario(
        "witness_hours_missing",
        metric_data=lambda call: metric_data([result("m0", [0.0]), result("m1", [0.0]), result("m2", [0.0] * 5)]),
    ),
    # GetMetricData: endless, slow and oversized answers
    Scenario(
        "metric_token_repeats",
        metric_data=lambda call: metric_data(zeros(), NextToken="again"),
        note="read as a bad_response, refused as unknown",
    ),
    Scenario("metric_tokens_endless", metric_data=lambda call: metric_data(zeros(), NextToken=f"t{call}")),
    Scenario(
        "metric_dripped",
        metric_data=lambda call: Answer(
            iter(bytes([byte]) for byte in as_json({"MetricDataResults": zeros()})),
            content_type=JSON_TYPE,
            drip_seconds=2.0,
        ),
        note="one byte every 2 s",
    ),
    Scenario(
        "metric_two_million_points",
        metric_data=lambda call: metric_data([result("m0", [0.0] * 2_000_000, [Epoch(0.0)] * 2_000_000), *zeros()[1:]]),
        note="2,000,000 datapoints in one page (about 50 MB of JSON)",
    ),
    # DescribeInstances: endless, slow and oversized answers (the read before any change)
    Scenario(
        "describe_dripped",
        describe=lambda call: dripped(describe_xml(), 2.0),
        expected_reason="aws_timeout",
        note="one byte every 2 s",
    ),
    Scenario(
        "describe_endless_body",
        describe=lambda call: Answer(endless(b" " * 65536)),
        expected_reason="bad_response",
        note="a chunked body that never ends",
    ),
    Scenario(
        "describe_oversized",
        describe=lambda call: Answer(b"<x>" + b" " * BIG + b"</x>", length=BIG + 7),
        expected_reason="bad_response",
    ),
    Scenario(
        "describe_silent",
        describe=lambda call: Answer(iter(()), drip_seconds=3600.0, length=10),
        expected_reason="aws_timeout",
        note="headers, then nothing",
    ),
)
SCENARIO_NAMES = tuple(scenario.name for scenario in SCENARIOS)
# The audit pages DescribeInstances without ids: these make the pager end.
AUDIT_SCENARIOS: dict = {
    "describe_token_repeats": (("bad_response",), lambda call: Answer(describe_xml("again"))),
    # 200 pages or aws_timeout, whichever comes first on the machine at hand
    "describe_tokens_endless": (("bad_response", "aws_timeout"), numbered_tokens()),
}


# ----------------------------------------------------------------------------- the server


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up mid-answer (the point of most scenarios) is not news.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@dataclass
class HostileAws:
    scenario: Scenario = field(default_factory=lambda: SCENARIOS[0])
    modified: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    http_tokens: str = "optional"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def use(self, scenario: Scenario | str, describe: Callable[[int], Answer] | None = None) -> None:
        if isinstance(scenario, str):
            scenario = next(item for item in SCENARIOS if item.name == scenario)
        if describe is not None:
            scenario = Scenario(scenario.name, describe=describe, metric_data=scenario.metric_data)
        with self._lock:
            self.scenario, self.modified, self.actions, self.http_tokens = scenario, [], [], "optional"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, action: str, form: dict) -> Answer:
        with self._lock:
            calls = sum(1 for seen in self.actions if seen == action)
            self.actions.append(action)
            if action == "ModifyInstanceMetadataOptions":
                self.modified.append(form)
                self.http_tokens = form.get("HttpTokens", self.http_tokens)
        if action == "DescribeInstances":
            if self.scenario.describe is None:
                return Answer(describe_xml(http_tokens=self.http_tokens))
            return self.scenario.describe(calls)
        if action == "GetMetricData":
            return self.scenario.metric_data(calls)
        if action == "ModifyInstanceMetadataOptions":
            return Answer(modify_xml())
        return Answer(b"<Response><Errors><Error><Code>InvalidAction</Code></Error></Errors></Response>", 400)

    def _handler(self) -> type:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target")
                if target:
                    action = target.rsplit(".", 1)[-1]
                    form: dict = {}
                else:
                    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
                    action = form.get("Action", "")
                answer = hostile.answer(action, form)
                with contextlib.suppress(OSError):  # the client gave up: that is the point of most scenarios
                    self._send(answer)

            def _send(self, answer: Answer) -> None:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                chunked = not isinstance(answer.body, bytes) and answer.length is None
                if isinstance(answer.body, bytes):
                    self.send_header("Content-Length", str(len(answer.body)))
                elif chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(answer.length))
                self.end_headers()
                self.wfile.flush()
                chunks = [answer.body] if isinstance(answer.body, bytes) else answer.body
                for chunk in chunks:
                    if answer.drip_seconds:
                        time.sleep(answer.drip_seconds)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    self.wfile.flush()
                if answer.drip_seconds and answer.length and isinstance(answer.body, Iterator):
                    time.sleep(answer.drip_seconds)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")

        return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", choices=SCENARIO_NAMES, default=SCENARIO_NAMES[0])
    options = parser.parse_args()
    server = HostileAws()
    server.use(options.scenario)
    print(json.dumps({"url": server.url}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
