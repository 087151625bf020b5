# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The analyzer's trace log, every release's form, written by tests/emulator/analyzer_log.py into tmp_path."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from analyzer_log import FORMS, Call, Process, gzip_file, jenkins_calls, line, write_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._callers import gz as gz_module
from ansible_collections.ec2meta.imds.plugins.module_utils._callers import log as log_module
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import (
    LogLimits,
    parse_line,
    parse_since,
    read_callers,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.scrub import REDACTED
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

TOKEN = "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="
START = datetime(2026, 11, 30, 2, 0, 0)
CURL = Process(6028, "curl", "curl http://169.254.169.254/latest/meta-data/")
SCRIPT = Process(6027, "makeCalls.sh", "/bin/bash ./makeCalls.sh")
ZSH = Process(4081, "zsh", "-zsh")
SSHD = Process(4000, "sshd", "sshd: ec2-user@pts/0")


def local(moment: datetime) -> datetime:
    return moment.astimezone()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("call", "version"),
    [
        (Call(chain=[CURL, SCRIPT, ZSH, SSHD]), "v1"),
        (Call(chain=[CURL], version="v2", token=TOKEN), "v2"),
        (Call(chain=[CURL, SCRIPT], missing_payload=True), "unknown"),
        (Call(chain=[Process(77, None), SCRIPT]), "v1"),
    ],
    ids=["v1-four-levels", "v2-token-header", "missing-payload", "process-ended"],
)
def test_every_form_parses(form, call, version):
    parsed = parse_line(line(call, form))
    assert parsed is not None
    assert parsed.version == version
    assert parsed.missing_payload is call.missing_payload
    assert [entry.pid for entry in parsed.chain] == [process.pid for process in call.chain]
    case = str.lower if form == "1.4" else str
    assert [entry.name for entry in parsed.chain] == [p.name and case(p.name) for p in call.chain]
    assert parsed.chain[0].argv == (call.chain[0].name and case(call.chain[0].argv))
    assert parsed.time == local(call.time.replace(microsecond=0))
    if form == "1.0" or call.missing_payload:
        assert parsed.path is None
        assert parsed.user_agent is None
    else:
        assert parsed.method == "GET"
        assert parsed.path == call.path
        assert parsed.user_agent == case(call.user_agent)


def test_the_readme_example_line_parses():
    text = (
        "[2022-12-20T11:03:58] [WARNING] IMDSv1(!) (pid:1016:curl argv:curl http://169.254.169.254/latest/meta-data/) "
        "called by -> (pid:1015:makeCalls.sh argv:/bin/bash ./makeCalls.sh) -> (pid:32678:zsh argv:-zsh) -> "
        "(pid:32678:sshd argv:sshd: )"
    )
    parsed = parse_line(text)
    assert parsed.version == "v1"
    assert [(e.pid, e.name) for e in parsed.chain] == [
        (1016, "curl"),
        (1015, "makeCalls.sh"),
        (32678, "zsh"),
        (32678, "sshd"),
    ]
    assert parsed.chain[3].argv == "sshd: "


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "[2026-11-30 02:00:00,000] [INFO] Try to attach multiple kernel functions to make sure the event can fire.",
        "[2026-11-30 02:00:00,000] [WARNING] IMDSv1(!) no chain here",
        "[not a time at all, honestly] [WARNING] IMDSv1(!) (pid:1:curl argv:curl)",
        "[2026-11-30 02:00:00,000] [WARNING] IMDSv3 (pid:1:curl argv:curl)",
        "[2026-11-30 02:00:00,000] [WARNING] IMDSv1(!) (pid:x:curl argv:curl)",
    ],
)
def test_other_lines_do_not_parse(text):
    assert parse_line(text) is None


@pytest.mark.parametrize("form", FORMS)
def test_tokens_in_argv_and_headers_never_reach_the_result(tmp_path, form):
    calls = [
        Call(chain=[Process(10, "curl", f"curl -H X-aws-ec2-metadata-token: {TOKEN} -v http://169.254.169.254/")]),
        Call(chain=[Process(11, "curl", f"curl -H 'x-aws-ec2-metadata-token:{TOKEN}' http://169.254.169.254/")]),
        Call(chain=[Process(12, "python3", f"python3 poll.py --token {TOKEN}")], version="v2", token=TOKEN),
        *jenkins_calls(START, 2, token=TOKEN),
    ]
    write_log(tmp_path, [line(call, form) for call in calls])
    callers, summary, tokens = read_callers(str(tmp_path / "imds-trace.log"))
    text = repr((callers, summary))
    assert TOKEN not in text
    assert TOKEN.lower() not in text
    assert summary["lines_parsed"] == len(calls)
    assert any(REDACTED in caller["argv"] or "**token redacted**" in caller["argv"] for caller in callers)
    # The 1.4 analyzer redacted the header forms itself; what is left for us to find is registered for no_log.
    assert tokens & {TOKEN, TOKEN.lower()}


def test_callers_are_grouped_by_program_with_counts_and_times(tmp_path):
    calls = [*jenkins_calls(START, 5), Call(chain=[CURL, SCRIPT], version="v2", time=START + timedelta(minutes=1))]
    write_log(tmp_path, [line(call) for call in calls])
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert summary["complete"] is True
    assert [caller["imds_version"] for caller in callers] == ["v1", "v2"]
    report = callers[0]
    assert report["count"] == 5
    assert report["pids"] == [21417, 21418, 21419, 21420, 21421]
    assert report["pid"] == 21421  # the latest call
    assert [parent["name"] for parent in report["parents"]] == ["sh", "java"]
    assert report["paths"] == ["/latest/meta-data/iam/security-credentials/"]
    assert report["user_agents"][0].startswith("aws-sdk-java/1.11.500")
    assert report["first_seen"] == local(START).isoformat()
    assert report["last_seen"] == local(START + timedelta(seconds=4)).isoformat()


def test_rotated_and_gzipped_files_are_read_newest_first(tmp_path):
    calls = jenkins_calls(START, 6)
    paths = write_log(tmp_path, [line(call, "1.1") for call in calls], per_file=2)
    assert [path.name for path in paths] == ["imds-trace.log", "imds-trace.log.1", "imds-trace.log.2"]
    gzip_file(paths[2])
    (tmp_path / "imds-trace.log.bak").write_text(line(calls[0]) + "\n")  # not one of the rotated names
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert [file["path"].rsplit("/", 1)[-1] for file in summary["files"]] == [
        "imds-trace.log",
        "imds-trace.log.1",
        "imds-trace.log.2.gz",
    ]
    assert callers[0]["count"] == 6
    assert callers[0]["first_seen"] == local(START).isoformat()


def test_binary_junk_and_truncated_lines_are_counted_and_skipped(tmp_path):
    good = [line(call) for call in jenkins_calls(START, 3)]
    lines = [good[0], b"\x00\xff\xfe binary \x89PNG\r\n\x1a", good[1][: len(good[1]) // 2], "\x1b[31m", good[2]]
    write_log(tmp_path, lines)
    with (tmp_path / "imds-trace.log").open("ab") as stream:
        stream.write(good[2][:40].encode())  # cut off mid-line by a crash: no newline
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert summary["lines_read"] == 7  # the junk's \r\n made two lines of it
    assert summary["lines_unparsed"] == 4  # junk, junk, the escape sequence, the 40 characters
    # Every cut line that still shows its caller counts: three calls of the report, in two groups (one argv cut).
    assert sum(caller["count"] for caller in callers if caller["name"] == "java") == 3
    assert summary["complete"] is True


def test_a_line_longer_than_the_cap_is_read_in_bounded_pieces_and_still_counts(tmp_path):
    long_argv = "java -cp " + ":".join(f"/opt/lib/dependency-{index}.jar" for index in range(20000))
    call = Call(chain=[Process(5, "java", long_argv + f" --token {TOKEN}"), SCRIPT])
    write_log(tmp_path, [line(call, "1.0"), line(Call(chain=[CURL]), "1.0")])
    limits = replace(LogLimits(), max_line_bytes=4096)
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert summary["lines_cut"] == 1
    assert summary["lines_read"] == 2
    assert sorted(caller["name"] for caller in callers) == ["curl", "java"]
    assert all(len(caller["argv"]) <= limits.max_text + 3 for caller in callers)
    assert TOKEN not in repr(callers)


@pytest.mark.parametrize(
    ("limits", "stopped"),
    [
        ({"max_bytes": 2000}, "max_bytes"),
        ({"max_lines": 3}, "max_lines"),
        ({"max_callers": 2}, "max_callers"),
        ({"max_seconds": 1e-9}, "max_seconds"),
    ],
)
def test_each_limit_stops_the_reading_and_says_so(tmp_path, limits, stopped):
    calls = [Call(chain=[Process(100 + index, f"job{index}", f"job{index} --run")]) for index in range(50)]
    write_log(tmp_path, [line(call) for call in calls])
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=replace(LogLimits(), **limits))
    assert summary["stopped"] == stopped
    assert summary["complete"] is False
    assert len(callers) < 50


def test_since_and_only_v1(tmp_path):
    calls = [
        Call(chain=[CURL], time=START),
        Call(chain=[Process(9, "agent", "agent")], time=START + timedelta(hours=2)),
        Call(chain=[Process(8, "sdk", "sdk")], version="v2", token=TOKEN, time=START + timedelta(hours=3)),
        Call(chain=[Process(7, None)], missing_payload=True, time=START + timedelta(hours=4)),
    ]
    write_log(tmp_path, [line(call) for call in calls])
    since = local(START + timedelta(hours=1))
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), since=since, only_v1=True)
    assert [(caller["name"], caller["imds_version"]) for caller in callers] == [("agent", "v1"), (None, "unknown")]
    assert summary["lines_before_since"] == 1
    assert summary["lines_v2_skipped"] == 1


def test_a_missing_log_is_reported_not_fatal(tmp_path):
    callers, summary, _tokens = read_callers(str(tmp_path / "nowhere" / "imds-trace.log"))
    assert callers == []
    assert summary["found"] is False
    assert summary["complete"] is False
    assert summary["files"][0]["error"] == "not found"


def test_a_directory_or_bad_gzip_is_reported_not_fatal(tmp_path):
    (tmp_path / "imds-trace.log").mkdir()
    (tmp_path / "imds-trace.log.1.gz").write_bytes(b"not gzip at all")
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert callers == []
    assert [file["error"].split(":")[0] for file in summary["files"]] == ["unreadable", "unreadable"]
    assert summary["complete"] is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T15:00:00Z", datetime(2026, 11, 20, 15, tzinfo=timezone.utc)),
        ("2026-11-20T15:00:00+02:00", datetime(2026, 11, 20, 13, tzinfo=timezone.utc)),
        (None, None),
    ],
)
def test_parse_since(value, expected):
    assert parse_since(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "15:00"])
def test_parse_since_refuses_other_text(value):
    with pytest.raises(ImdsConfigError, match="since must be an ISO 8601 time"):
        parse_since(value)


# ---------------------------------------------------------------------------------------------------------------
# Properties: whatever the argv, names, paths and agents, parsing never raises and no token gets through.

TOKENS = st.randoms(use_true_random=False).map(lambda rng: base64.urlsafe_b64encode(rng.randbytes(42)).decode())
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60)
NAME = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=15))
PROCESS = st.builds(Process, st.integers(min_value=1, max_value=4194304), NAME, TEXT)


@st.composite
def calls_with_a_token(draw):
    token = draw(TOKENS)
    chain = draw(st.lists(PROCESS, min_size=1, max_size=4))
    where = draw(st.integers(min_value=0, max_value=len(chain) - 1))
    words = draw(TEXT).split(" ")
    position = draw(st.integers(min_value=0, max_value=len(words)))
    glue = draw(st.sampled_from(["", "=", "'", '"', "X-aws-ec2-metadata-token: ", "x-aws-ec2-metadata-token:"]))
    target = chain[where]
    chain[where] = Process(
        target.pid, target.name or "curl", " ".join([*words[:position], glue + token, *words[position:]])
    )
    call = Call(
        chain=chain,
        version=draw(st.sampled_from(["v1", "v2"])),
        path=draw(TEXT.map(lambda text: "/latest/" + text.replace(" ", ""))),
        user_agent=draw(TEXT),
        token=draw(st.sampled_from([None, token])),
        missing_payload=draw(st.booleans()),
    )
    return call, token


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(calls_with_a_token(), st.sampled_from(FORMS))
def test_no_token_in_any_parsed_text(case, form):
    call, token = case
    parsed = parse_line(line(call, form))
    if parsed is None:
        return
    text = repr(parsed)
    assert token not in text
    assert token.lower() not in text


@given(st.one_of(st.binary(max_size=400).map(lambda raw: raw.decode("utf-8", "replace")), st.text(max_size=400)))
def test_any_text_parses_or_is_refused_without_raising(text):
    parse_line(text)


@given(st.lists(st.binary(max_size=200), max_size=30))
def test_any_bytes_in_a_file_never_raise(tmp_path_factory, chunks):
    directory = tmp_path_factory.mktemp("junk")
    (directory / "imds-trace.log").write_bytes(b"\n".join(chunks))
    _callers, summary, _tokens = read_callers(str(directory / "imds-trace.log"))
    assert summary["lines_parsed"] + summary["lines_unparsed"] == summary["lines_read"]


@st.composite
def calls_with_an_encoded_token(draw):
    """Issue 28: a token in the standard alphabet, URL-encoded, JSON- or Python-quoted, in argv, agent or path."""
    raw = draw(st.binary(min_size=40, max_size=48))
    token = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))(raw).decode()
    shown = draw(
        st.sampled_from(
            [
                token,
                quote(token, safe=""),
                quote(token),
                json.dumps(token).replace("/", "\\/"),
                repr({"x-aws-ec2-metadata-token": token}),
                json.dumps({token: 1}),
            ]
        )
    )
    words = draw(TEXT).split(" ")
    position = draw(st.integers(min_value=0, max_value=len(words)))
    text = " ".join([*words[:position], shown, *words[position:]])
    place = draw(st.sampled_from(["argv", "user_agent", "path"]))
    call = Call(
        chain=[Process(draw(st.integers(1, 99999)), "python3", text if place == "argv" else "python3 app.py")],
        version="v1",
        path="/latest/meta-data/?t=" + quote(text, safe="") if place == "path" else "/latest/meta-data/",
        user_agent=text if place == "user_agent" else "Boto3/1.9.0",
    )
    return call, token


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(calls_with_an_encoded_token(), st.sampled_from(FORMS))
def test_no_token_in_any_encoding_in_any_parsed_text(case, form):
    call, token = case
    parsed = parse_line(line(call, form))
    text = json.dumps([parsed.chain[0].as_dict(), parsed.path, parsed.user_agent])
    for form_of_token in (token, token.rstrip("="), quote(token, safe=""), token.replace("/", "\\/")):
        assert form_of_token not in text
        assert form_of_token.lower() not in text.lower()


# ---------------------------------------------------------------------------------------------------------------
# Issue 28, item 2: every reader of host files is bounded per byte, not per line.


@contextlib.contextmanager
def hang_guard(seconds: int = 60):
    """The old reader blocked on a FIFO and spun on /dev/zero for ever: fail such a test instead of hanging the suite.
    Not a speed target: the cases here end in milliseconds."""

    def expired(_signum, _frame):
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fifo(path):
    os.mkfifo(path)


def _device(path):
    path.symlink_to("/dev/zero")


def _socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "a FIFO"), (_device, "a character device"), (_socket, "a socket")],
    ids=["fifo", "dev-zero", "socket"],
)
@pytest.mark.parametrize("which", ["imds-trace.log", "imds-trace.log.1"])
def test_a_file_that_is_not_regular_is_refused_before_it_is_read(tmp_path, make, kind, which):
    write_log(tmp_path, [line(Call(chain=[CURL]))])
    (tmp_path / which).unlink(missing_ok=True)
    keep = make(tmp_path / which)
    with hang_guard():
        _callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=LogLimits(max_seconds=600))
    if keep is not None:
        keep.close()
    refused = next(file for file in summary["files"] if file["path"].endswith(which))
    assert refused["error"] == f"unreadable: not a regular file but {kind}; only a regular file is read"
    assert refused["bytes_read"] == 0
    assert summary["complete"] is False


def test_a_gzip_bomb_stops_at_max_bytes_counted_inflated(tmp_path):
    """32 MiB of zeros, one endless line, in 32 KiB of gzip, and after them a damaged member that only a reader
    inflating past max_bytes would reach. The old reader inflated all of it before counting it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _mebibyte in range(32)) + compressor.flush()
    (tmp_path / "imds-trace.log").write_bytes(line(Call(chain=[CURL])).encode() + b"\n")
    (tmp_path / "imds-trace.log.1.gz").write_bytes(bomb + b"\x1f\x8b\x08\x00damaged")
    limits = LogLimits(max_bytes=1024 * 1024, max_line_bytes=64 * 1024, max_seconds=600)
    with hang_guard():
        callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert [caller["name"] for caller in callers] == ["curl"]
    assert summary["stopped"] == "max_bytes"
    assert summary["complete"] is False
    assert [file["error"] for file in summary["files"]] == [None, None]
    assert summary["bytes_read"] <= limits.max_bytes


class SteppingClock:
    """time.monotonic for the reader: one second passes at every reading of the clock."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        self.now += 1
        return self.now


@pytest.mark.parametrize(
    ("content", "lines_at_most"),
    [
        (b"x" * (4 * 1024 * 1024), 0),  # one endless line: the clock is read while it is read
        (b"not an analyzer line\n" * 10_000, 10),  # short lines: every line, not every 4,096th
    ],
    ids=["inside-one-line", "every-line"],
)
def test_the_time_budget_is_checked_as_bytes_are_read(tmp_path, monkeypatch, content, lines_at_most):
    (tmp_path / "imds-trace.log").write_bytes(content)
    monkeypatch.setattr(log_module, "time", SteppingClock())
    limits = LogLimits(max_seconds=5, max_line_bytes=64 * 1024)
    _callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert summary["stopped"] == "max_seconds"
    assert summary["complete"] is False
    assert summary["lines_read"] <= lines_at_most
    assert summary["bytes_read"] <= 10 * 64 * 1024


@pytest.mark.parametrize(
    "argv",
    [
        "x-aws-ec2-metadata-token" + " " * 100_000,  # both old header rules were quadratic in the blanks
        "x-aws-ec2-metadata-token " * 10_000,
        f"curl -H 'X-aws-ec2-metadata-token: {TOKEN}'" + "\t" * 100_000 + "x",
        "a" * 20 + (" " + "b" * 20) * 5_000,  # short runs: the shape rule's first branch used to fail on each
        "%2B" * 100_000 + "%",
    ],
    ids=["header-then-blanks", "header-repeated", "token-then-tabs", "short-runs", "escapes"],
)
def test_hostile_argv_lines_are_read_and_masked(tmp_path, argv):
    """Correctness on the hostile line classes; their time is the shape test's (test_masking.py) and the
    benchmark's (benchmarks/hostile_lines.py) business. The guard only turns the old minutes-long runs into a
    failure."""
    call = Call(chain=[Process(4242, "sh", argv)], version="v2", token=TOKEN)
    (tmp_path / "imds-trace.log").write_text(line(call, "1.1") + "\n")
    with hang_guard():
        callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=LogLimits(max_seconds=600))
    assert summary["complete"] is True
    assert [caller["pid"] for caller in callers] == [4242]
    assert TOKEN not in json.dumps(callers)


def test_a_line_cut_inside_a_long_token_run_loses_the_whole_run(tmp_path):
    """262,000 token characters after argv: a cut at max_line_bytes; the run is dropped, whatever its alphabet."""
    run = ("AQAE+/x%2B" * 30_000)[:262_000]
    text = line(Call(chain=[Process(4242, "sh", "sh -c " + run)]), "1.0")
    (tmp_path / "imds-trace.log").write_text(text + "\n")
    limits = LogLimits(max_line_bytes=200_000, max_seconds=600)
    with hang_guard():
        callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert summary["lines_cut"] == 1
    assert [caller["argv"] for caller in callers] == ["sh -c"]


def gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def test_zero_padding_after_the_last_gzip_member_ends_the_file_and_is_reported(tmp_path):
    """Python's gzip skipped the padding a byte at a time inside one read(), where no limit looked (1 GiB of sparse
    zeros ran past the time budget), and called the file complete."""
    path = tmp_path / "imds-trace.log.1.gz"
    path.write_bytes(gzip_member(line(Call(chain=[CURL])).encode() + b"\n"))
    with path.open("r+b") as stream:
        stream.truncate(path.stat().st_size + 4 * 1024 * 1024)  # sparse: free to write
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert [caller["name"] for caller in callers] == ["curl"]
    assert summary["files"][1]["error"] == "data after the last gzip member (zero padding or garbage), not read"
    assert summary["complete"] is False


def test_a_gzip_header_that_never_ends_is_refused_after_max_header_bytes(tmp_path):
    """The old reader read a 100 MB name byte by byte inside one read() (31 s with time_budget=10)."""
    header = b"\x1f\x8b\x08\x08" + bytes(6) + b"a" * (4 * 1024 * 1024)  # FNAME set, the name never ends
    (tmp_path / "imds-trace.log.1.gz").write_bytes(header)
    _callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert summary["files"][1]["error"] == "unreadable: error: a gzip header that does not end within 65536 bytes"
    assert summary["compressed_bytes_read"] <= gz_module.MAX_HEADER + gz_module.PIECE
    assert summary["complete"] is False


@pytest.mark.parametrize(
    ("limits", "stopped"),
    [
        (LogLimits(max_seconds=5), "max_seconds"),
        (LogLimits(max_bytes=1024 * 1024, max_seconds=10**6), "max_bytes"),
    ],
    ids=["clock", "compressed-bytes"],
)
def test_compressed_bytes_that_inflate_to_nothing_are_counted_as_they_are_read(tmp_path, monkeypatch, limits, stopped):
    """Empty stored blocks, 5 bytes each, inflate to nothing: max_bytes never saw them and the clock was not read."""
    member = b"\x1f\x8b\x08\x00" + bytes(6) + b"\x00\x00\x00\xff\xff" * (800 * 1024)
    (tmp_path / "imds-trace.log.1.gz").write_bytes(member)
    monkeypatch.setattr(log_module, "time", SteppingClock())
    _callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert summary["stopped"] == stopped
    assert summary["complete"] is False
    assert summary["compressed_bytes_read"] <= 1024 * 1024


def test_millions_of_empty_gzip_members_stop_at_max_gzip_members(tmp_path):
    """3,000,000 empty members took 45 s with time_budget=10: each inflates to nothing, so nothing was counted."""
    first = gzip_member(line(Call(chain=[CURL])).encode() + b"\n")
    (tmp_path / "imds-trace.log.1.gz").write_bytes(first + gzip_member(b"") * 2_000)
    limits = LogLimits(max_gzip_members=1_000)
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"), limits=limits)
    assert [caller["name"] for caller in callers] == ["curl"]
    assert summary["stopped"] == "max_gzip_members"
    assert summary["complete"] is False
    within = LogLimits(max_gzip_members=2_001)
    assert read_callers(str(tmp_path / "imds-trace.log"), limits=within)[1]["files"][1]["error"] is None


@pytest.mark.parametrize("piece", [1, 7, 65_536])
def test_concatenated_gzip_members_are_all_read_whatever_the_piece_size(tmp_path, monkeypatch, piece):
    calls = jenkins_calls(START, 6)
    members = [gzip_member(line(call, "1.1").encode() + b"\n") for call in calls]
    (tmp_path / "imds-trace.log.1.gz").write_bytes(b"".join(members))
    monkeypatch.setattr(gz_module, "PIECE", piece)
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert sum(caller["count"] for caller in callers) == 6
    assert summary["files"][1]["error"] is None


def test_the_tokens_kept_for_no_log_are_capped_and_the_rest_still_masked(tmp_path):
    """Every token found went to no_log_values with no cap: 630,000 tokens took 598 MiB, and Ansible's masking at
    exit (forms times strings) ran for minutes outside the time budget."""
    tokens = [base64.b64encode(index.to_bytes(4, "big") * 10).decode() for index in range(300)]
    calls = [Call(chain=[Process(index, f"job{index}", f"poll --token {token}")]) for index, token in enumerate(tokens)]
    write_log(tmp_path, [line(call, "1.1") for call in calls])
    callers, summary, kept = read_callers(str(tmp_path / "imds-trace.log"), limits=LogLimits(max_tokens=50))
    assert len(kept) == 50
    assert summary["tokens_cap_reached"] is True
    assert len(callers) == 300
    text = repr((callers, summary))
    assert not any(token in text for token in tokens)
    _callers, summary, kept = read_callers(str(tmp_path / "imds-trace.log"), limits=LogLimits(max_tokens=1000))
    assert summary["tokens_cap_reached"] is False
    assert set(tokens) <= kept


def test_dated_rotations_are_read_and_other_compressions_reported_as_skipped(tmp_path):
    """logrotate's dateext names (-YYYYMMDD, .gz or not) were not read and .xz, .bz2, .zst files were ignored, all
    with complete: true."""
    calls = jenkins_calls(START, 3)
    write_log(tmp_path, [line(calls[0], "1.1")])
    (tmp_path / "imds-trace.log-20261201.gz").write_bytes(gzip_member(line(calls[1], "1.1").encode() + b"\n"))
    (tmp_path / "imds-trace.log-20261130").write_text(line(calls[2], "1.1") + "\n")
    for name in ("imds-trace.log.2.xz", "imds-trace.log.3.bz2", "imds-trace.log.4.zst"):
        (tmp_path / name).write_bytes(b"compressed")
    (tmp_path / "imds-trace.log-20261201.bak").write_text(line(calls[0], "1.1") + "\n")  # not a rotated name
    callers, summary, _tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert callers[0]["count"] == 3
    assert [(file["path"].rsplit("/", 1)[-1], (file["error"] or "")[:24]) for file in summary["files"]] == [
        ("imds-trace.log", ""),
        ("imds-trace.log.2.xz", "skipped: compressed with"),
        ("imds-trace.log.3.bz2", "skipped: compressed with"),
        ("imds-trace.log.4.zst", "skipped: compressed with"),
        ("imds-trace.log-20261201.gz", ""),
        ("imds-trace.log-20261130", ""),
    ]
    assert summary["files"][1]["error"] == "skipped: compressed with xz, which is not read; decompress it to read it"
    assert summary["complete"] is False


def test_the_configured_log_path_comes_back_as_given_not_masked(tmp_path, monkeypatch):
    """A directory of letters, digits, letters (attack28logs) looked like a token part: the user's own log_path came
    back as '<token redacted>.log'. Only text read from the host is masked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp/attack28logs/in/a17").mkdir(parents=True)
    write_log(tmp_path / "tmp/attack28logs/in/a17", [line(Call(chain=[CURL]), "1.1")], per_file=1)
    (tmp_path / "tmp/attack28logs/in/a17/imds-trace.log.1").write_text(line(Call(chain=[CURL]), "1.1") + "\n")
    log_path = "tmp/attack28logs/in/a17/imds-trace.log"
    callers, summary, _tokens = read_callers(log_path)
    assert summary["path"] == log_path
    assert [file["path"] for file in summary["files"]] == [log_path, f"{log_path}.1"]
    assert callers[0]["log_files"] == [log_path, f"{log_path}.1"]


def test_a_token_split_by_html_references_or_utf16_in_a_log_line_does_not_come_back(tmp_path):
    token = "AQAEAFEO+InKb/S7me+hLqzu83lYdeDV7r/sPh2D4SJF6v5IwD4S8g=="
    entities = token.replace("+", "&#43;").replace("/", "&sol;").replace("=", "&#x3D;")
    utf16 = token.encode("utf-16-le").decode("latin-1")
    calls = [
        Call(chain=[Process(1, "curl", f"curl -H {entities} http://169.254.169.254/")]),
        Call(chain=[Process(2, "poll", f"poll {utf16}")], user_agent=f"agent/{utf16}"),
    ]
    write_log(tmp_path, [line(call, "1.1") for call in calls])
    callers, _summary, tokens = read_callers(str(tmp_path / "imds-trace.log"))
    assert len(callers) == 2
    text = repr(callers)
    assert not any(token[start : start + 20] in text for start in range(len(token) - 20))
    assert entities not in text
    assert token in tokens
