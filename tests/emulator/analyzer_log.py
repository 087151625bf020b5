# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write trace-log lines as AWS's IMDS packet analyzer does, in each of its releases' forms, for tests, the docs'
story and the benchmark. The analyzer itself needs eBPF and root; nothing here runs it.

Written from its source (github.com/aws/aws-imds-packet-analyzer, src/imds_snoop.py at 18f15c9 and its history):

* ``1.0``: logging.conf's time (``%Y-%m-%dT%H:%M:%S``), no request details, tokens in argv as they were;
* ``1.1`` (to 1.3): Python's default time with milliseconds, `` Req details: `` and the request's lines joined by
  ``, `` (tokens in the headers as sent);
* ``1.4`` (and 1.5): the same, then each ``x-aws-ec2-metadata-token:`` up to the next ``==`` replaced by
  ``**token redacted**`` and the whole message lower-cased (the ``{MISSING PAYLOAD}`` mark is added after, so it
  keeps its case).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

FORMS = ("1.0", "1.1", "1.4")
IMDS_HOST = "169.254.169.254"


@dataclass
class Process:
    pid: int
    name: str | None  # None: the process ended before the analyzer read /proc/<pid>/cmdline
    argv: str = ""

    def entry(self) -> str:
        if self.name is None:
            return f"(pid:{self.pid} Unable to get argv information)"
        return f"(pid:{self.pid}:{self.name} argv:{self.argv})"


@dataclass
class Call:
    chain: list  # of Process, the caller first, up to four
    version: str = "v1"
    path: str = "/latest/meta-data/instance-id"
    method: str = "GET"
    user_agent: str = "curl/7.88.1"
    token: str | None = None  # sent in the X-aws-ec2-metadata-token header (then version is v2)
    missing_payload: bool = False
    time: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 2, 0, 0))

    def request(self) -> str:
        if self.missing_payload:
            return ""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {IMDS_HOST}", f"User-Agent: {self.user_agent}"]
        if self.token is not None:
            lines.append(f"X-aws-ec2-metadata-token: {self.token}")
        lines.append("Accept: */*")
        return ", ".join(lines)


def _redact(message: str) -> str:
    """The 1.4 redaction on a lower-cased message: the header through the next "==" (left alone without one)."""
    marker = "x-aws-ec2-metadata-token:"
    start = message.find(marker)
    while start >= 0:
        end = message.find("==", start)
        if end < 0:
            break
        message = message[:start] + "**token redacted**" + message[end + 2 :]
        start = message.find(marker)
    return message


def line(call: Call, form: str = "1.4") -> str:
    """One log line (without its newline) for ``call`` as release ``form`` writes it."""
    if form not in FORMS:
        raise ValueError(form)
    if form == "1.0":
        stamp = call.time.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        stamp = call.time.strftime("%Y-%m-%d %H:%M:%S,") + f"{call.time.microsecond // 1000:03d}"
    is_v2 = call.version == "v2" and not call.missing_payload
    level = "ERROR" if call.missing_payload else "INFO" if is_v2 else "WARNING"
    message = ("IMDSv2 " if is_v2 else "IMDSv1(!) ") + call.chain[0].entry()
    if len(call.chain) > 1:
        message += " called by -> " + " -> ".join(process.entry() for process in call.chain[1:4])
    if form != "1.0":
        message += " Req details: " + call.request()
    if form == "1.4":
        message = _redact(message.lower())
    if call.missing_payload:
        message = "{MISSING PAYLOAD} " + message
    return f"[{stamp}] [{level}] {message}"


def write_log(directory: Path, lines: list, per_file: int | None = None, name: str = "imds-trace.log") -> list:
    """Write ``lines`` (oldest first) as the analyzer's rotating handler leaves them: the newest in ``name``, older
    ones in ``name.1``, ``name.2``... ``per_file`` lines each. Returns the paths, newest first."""
    directory.mkdir(parents=True, exist_ok=True)
    per_file = per_file or max(1, len(lines))
    chunks = [lines[start : start + per_file] for start in range(0, len(lines), per_file)] or [[]]
    paths = []
    for number, chunk in enumerate(reversed(chunks)):
        path = directory / (name if number == 0 else f"{name}.{number}")
        path.write_bytes(b"".join((text if isinstance(text, bytes) else text.encode()) + b"\n" for text in chunk))
        paths.append(path)
    return paths


def gzip_file(path: Path) -> Path:
    """``path`` compressed to ``path.gz`` (as logrotate leaves it), the original removed."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return target


def jenkins_calls(start: datetime, count: int = 5, token: str | None = None, first_pid: int = 21417) -> list:
    """The docs' story: a Jenkins job's report step (an old AWS SDK for Java) reading its role credentials
    without a token, ``count`` times a second apart."""
    jenkins = Process(1180, "java", "/usr/bin/java -Djava.awt.headless=true -jar /usr/share/java/jenkins.war")
    shell = Process(21400, "sh", "/bin/sh -xe /tmp/jenkins4211769913497.sh")
    calls = []
    for index in range(count):
        report = Process(
            first_pid + index,
            "java",
            "java -cp /var/lib/jenkins/workspace/nightly-report/lib/* com.example.NightlyReport"
            + (f" --imds-token {token}" if token else ""),
        )
        calls.append(
            Call(
                chain=[report, shell, jenkins],
                path="/latest/meta-data/iam/security-credentials/",
                user_agent="aws-sdk-java/1.11.500 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/11.0.25+9 java/11.0.25",
                time=start + timedelta(seconds=index),
            )
        )
    return calls
