# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property: whatever listings and values a server makes up, the crawler, the facts builder and read_paths end in a
result or an ImdsError with a reason, by a deadline; never another exception.

The server answers every directory with one of the drawn listings (chosen by depth, so a listing that names a
sub-directory makes a tree as deep as the caps allow) and every leaf with one of the drawn values.
"""

from __future__ import annotations

import http.server
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError
from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather, resolve_gather_subset
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import read_paths

KNOWN_REASONS = ("ok", "bad_response", "timeout", "not_found")
TOTAL = 0.5
# A read ends by TOTAL on an idle machine; the deadline leaves room for a loaded one, where a timeout is also a
# reason the property accepts.
DEADLINE = 10.0
# Names a third-party or broken server might list: both forms of one entry, self and parent references, empty and
# blank lines, separators, invalid UTF-8, long and odd names, and the names the facts builder looks for.
NAMES = [
    "a",
    "a/",
    "iam",
    "iam/",
    "info",
    "security-credentials",
    "security-credentials/",
    "placement/",
    "region",
    "public-keys/",
    "0=key",
    ".",
    "..",
    "./",
    "../",
    "",
    " ",
    "/",
    "x/y",
    "a?b",
    "\xff\xfe",
    "n" * 300,
    "instance-id",
    "network/",
    "interfaces/",
    "macs/",
    "0e:00:00:00:00:01/",
]
VALUES = [b"", b"v", b"{", b"[" * 3000, b'{"a": 1}', b"\xff\xfe\x00", b"line\nline/\n", b"i-0123456789abcdef0"]


class _Pages(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass

    def do_PUT(self):
        self._answer(b"AQAEAtoken")

    def do_GET(self):
        listings, values = self.server.listings, self.server.values
        depth = self.path.count("/")
        body = listings[depth % len(listings)] if self.path.endswith("/") else values[depth % len(values)]
        self._answer(body)

    def _answer(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(listings: list, values: list):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    server.listings, server.values = listings, values
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


listing = st.lists(st.sampled_from(NAMES), max_size=12).map(lambda lines: "\n".join(lines).encode("utf-8", "replace"))


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(listings=st.lists(listing, min_size=1, max_size=4), values=st.lists(st.sampled_from(VALUES), min_size=1))
def test_any_listing_ends_in_a_result_or_an_imds_error(listings, values):
    server = _serve(listings, values)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    readers = [
        lambda client: walk(client, dirs=["meta-data"]),
        lambda client: gather(client, resolve_gather_subset(["all"])),
        lambda client: read_paths(client, ["meta-data/iam", "meta-data/iam/info"], recursive=True, parse_json=True),
        lambda client: read_paths(client, ["meta-data/a", "meta-data"], parse_json=True),
    ]
    try:
        for read in readers:
            with ImdsClient(
                client_config_from_params(endpoint=endpoint, environ={}, timeout=0.3, total_timeout=TOTAL)
            ) as client:
                started = time.monotonic()
                reason = "ok"
                try:
                    read(client)
                except ImdsError as error:
                    reason = error.reason
                assert reason in KNOWN_REASONS
                assert time.monotonic() - started < DEADLINE
    finally:
        server.shutdown()
        server.server_close()
