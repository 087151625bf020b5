# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulator of the EC2 Instance Metadata Service for tests, benchmarks, demos and users' CI.

Standard library only, so it runs anywhere Python 3.8+ does. It binds loopback addresses only.

    python tests/emulator/imds_emulator.py --port 0 --http-tokens required

prints one JSON line ``{"url": ..., "port": ...}`` once it listens. Options and faults can be changed
while it runs through ``/_emulator/*`` (see ``CONTROL_ROUTES``) or, in-process, through the methods
of :class:`ImdsEmulator`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import gzip
import http.server
import ipaddress
import json
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter, deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional
from urllib.parse import unquote

from hostile_faults import HOSTILE_FAULTS, AcceptStall  # a file beside this one

EMULATOR_SCRIPT = os.path.abspath(__file__)

DEFAULT_DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "default_instance.json")
TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
CONTROL_PREFIX = "/_emulator/"
MAX_TOKEN_TTL = 21600
# Metadata API versions the real service lists at "/"; every one of them serves the same tree here.
API_VERSIONS = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
    "2011-01-01",
    "2011-05-01",
    "2012-01-12",
    "2014-02-25",
    "2014-11-05",
    "2015-10-20",
    "2016-04-19",
    "2016-06-30",
    "2016-09-02",
    "2018-03-28",
    "2018-08-17",
    "2018-09-24",
    "2019-10-01",
    "2020-10-27",
    "2021-01-03",
    "2021-03-23",
    "2021-07-15",
    "2022-09-24",
    "2024-04-11",
    "latest",
)
OPTION_CHOICES = {
    "http_tokens": ("optional", "required"),
    "http_endpoint": ("enabled", "disabled"),
    "instance_metadata_tags": ("enabled", "disabled"),
    "http_protocol_ipv6": ("enabled", "disabled"),
}
FAULT_KINDS = ("status", "delay", "blackhole", "reset", "body", "redirect", "truncate", *HOSTILE_FAULTS)
# How long a black-holed request is held before the emulator gives up on it (clients time out first).
BLACKHOLE_SECONDS = 30.0


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_page(status: int, reason: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        f"<html><head><title>{status} - {reason}</title></head>"
        f"<body><h1>{status} - {reason}</h1></body></html>\n"
    ).encode()


class Fault:
    """One injected fault: which requests it matches and how many times it still fires."""

    def __init__(
        self, kind: str, path: str | None = None, method: str | None = None, count: int | None = None, **params
    ):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        self.kind = kind
        self.path = path
        self.method = method.upper() if method else None
        self.remaining = count
        self.params = params

    def matches(self, method: str, path: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method != method:
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    def describe(self) -> dict:
        # Events (in-process tests only) are not state a client of the control API can read.
        params = {name: value for name, value in self.params.items() if not isinstance(value, threading.Event)}
        return {"kind": self.kind, "path": self.path, "method": self.method, "remaining": self.remaining, **params}


class ImdsEmulator:
    """The emulated instance, its metadata options, faults and request counters."""

    def __init__(
        self,
        instance: dict | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_hops: int = 1,
        latency: float = 0.0,
        throttle_rps: float | None = None,
        options_source: Callable[[], dict] | None = None,
        **options: Any,
    ):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator binds loopback addresses only, not {host}")
        if instance is None:
            with open(DEFAULT_DATA_FILE, encoding="utf-8") as handle:
                instance = json.load(handle)
        self._lock = threading.RLock()
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.metadata = copy.deepcopy(instance["meta-data"])
        self.dynamic = copy.deepcopy(instance.get("dynamic", {}))
        self.tags: dict[str, str] = dict(instance.get("tags", {}))
        self.iam: dict | None = copy.deepcopy(instance.get("iam"))
        user_data = instance.get("user-data")
        self.user_data: bytes | None = user_data.encode() if isinstance(user_data, str) else None
        self.options = {
            "http_tokens": "optional",
            "http_endpoint": "enabled",
            "http_put_response_hop_limit": 1,
            "instance_metadata_tags": "disabled",
            "http_protocol_ipv6": "disabled",
        }
        self.options.update(instance.get("options", {}))
        # How many network hops the client sits behind: 2 for a container on a bridge network.
        self.client_hops = client_hops
        self.latency = latency
        self.throttle_rps = throttle_rps
        self.http10 = False
        # Called to read the metadata options from elsewhere (e.g. moto's DescribeInstances).
        self.options_source = options_source
        # Told of every metadata request as (counter kind, status, sent a token), e.g. to count IMDSv1 use in moto.
        self.request_observer: Callable[[str, int, bool], None] | None = None
        self._tokens: dict[str, float] = {}
        self._faults: list[Fault] = []
        self.accept_stall: AcceptStall | None = None
        self._recent: deque = deque()
        self.counters: Counter = Counter()
        self.path_counts: Counter = Counter()
        self.credentials: dict | None = None
        # Timed changes of meta-data/ (schedule_metadata): (due, monotonic, path, value), the earliest first.
        self._scheduled: list = []
        # Every secret ever served, so tests can prove none of them leaks into output.
        self.issued_secrets: list[str] = []
        self.set_options(**options)
        if self.iam:
            self.rotate_credentials()
        self.identity_signer = _identity_signer()

    # ----------------------------------------------------------------- life cycle
    def start(self) -> ImdsEmulator:
        server_class = _Server6 if ":" in self._host else _Server
        self._server = server_class((self._host, self._port), _Handler)
        self._server.emulator = self
        # A short poll interval keeps stop() quick; every test starts and stops an emulator.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="imds-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ImdsEmulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server, "the emulator is not running"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    # ----------------------------------------------------------------- controls
    def set_options(self, **options: Any) -> dict:
        with self._lock:
            for name, value in options.items():
                if name in OPTION_CHOICES:
                    if value not in OPTION_CHOICES[name]:
                        raise ValueError(f"{name} must be one of {OPTION_CHOICES[name]}, not {value!r}")
                    self.options[name] = value
                elif name == "http_put_response_hop_limit":
                    if not 1 <= int(value) <= 64:
                        raise ValueError("http_put_response_hop_limit must be 1..64")
                    self.options[name] = int(value)
                elif name == "client_hops":
                    self.client_hops = int(value)
                elif name == "latency":
                    self.latency = float(value)
                elif name == "throttle_rps":
                    self.throttle_rps = None if value is None else float(value)
                elif name == "http10":
                    self.http10 = bool(value)
                else:
                    raise ValueError(f"unknown option {name!r}")
            return self.state()

    def effective_options(self) -> dict:
        if self.options_source is None:
            return dict(self.options)
        merged = dict(self.options)
        merged.update(self.options_source())
        return merged

    def add_fault(self, kind: str, **spec: Any) -> dict:
        fault = Fault(kind, **spec)
        with self._lock:
            self._faults.append(fault)
        return fault.describe()

    def stall_accepts(self, after: int, seconds: float) -> None:
        """Stop accepting connections for ``seconds`` after ``after`` more (see hostile_faults.AcceptStall)."""
        self.accept_stall = AcceptStall(int(after), float(seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def set_user_data(self, data: bytes | None) -> None:
        self.user_data = data

    def set_tags(self, tags: dict[str, str]) -> None:
        with self._lock:
            self.tags = dict(tags)

    def set_metadata(self, path: str, value: Any) -> None:
        """Set (or with None, delete) one entry of meta-data/, e.g. ``set_metadata("instance-id", "i-1")``."""
        parts = [part for part in path.strip("/").split("/") if part]
        with self._lock:
            node = self.metadata
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            if value is None:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = value

    def schedule_metadata(self, after: float, path: str, value: Any) -> float:
        """Set (None deletes) meta-data/``path`` ``after`` seconds from now; returns the monotonic time it is due.

        The change is made by the first request at or after that time, so to a client it appears exactly when due,
        with no timer thread. Announcements are built from these: :meth:`schedule_spot_notice`,
        :meth:`schedule_maintenance`, :meth:`schedule_lifecycle_state`.
        """
        due = time.monotonic() + float(after)
        with self._lock:
            self._scheduled.append((due, path, value))
            self._scheduled.sort(key=lambda change: change[0])
        return due

    def _apply_due_changes(self) -> None:
        now = time.monotonic()
        with self._lock:
            while self._scheduled and self._scheduled[0][0] <= now:
                _due, path, value = self._scheduled.pop(0)
                self.set_metadata(path, value)

    def schedule_spot_notice(self, after: float, action: str = "terminate", lead: float = 120.0) -> float:
        """A Spot interruption notice at t+``after`` s, for ``lead`` seconds after it (EC2 gives two minutes)."""
        at = datetime.now(timezone.utc) + timedelta(seconds=after + lead)
        return self.schedule_metadata(after, "spot/instance-action", {"$json": {"action": action, "time": _iso(at)}})

    def schedule_maintenance(
        self,
        after: float,
        event_id: str = "instance-event-0123456789abcdef0",
        code: str = "system-reboot",
        cancel_after: float | None = None,
        starts_in_hours: float = 24.0,
    ) -> dict:
        """A scheduled maintenance event at t+``after`` s; with ``cancel_after``, cancelled that much later (it
        leaves the scheduled list and enters the history, as EC2 shows it). Returns the entry."""
        start = datetime.now(timezone.utc) + timedelta(hours=starts_in_hours)
        entry = {
            "NotBefore": start.strftime("%d %b %Y %H:%M:%S GMT"),
            "Code": code,
            "Description": f"scheduled {code}",
            "EventId": event_id,
            "NotAfter": (start + timedelta(hours=2)).strftime("%d %b %Y %H:%M:%S GMT"),
            "State": "active",
        }
        self.schedule_metadata(after, "events/maintenance/scheduled", {"$json": [entry]})
        if cancel_after is not None:
            cancelled = {**entry, "State": "canceled"}
            self.schedule_metadata(after + cancel_after, "events/maintenance/scheduled", {"$json": []})
            self.schedule_metadata(after + cancel_after, "events/maintenance/history", {"$json": [cancelled]})
        return entry

    def schedule_lifecycle_state(self, after: float, state: str) -> float:
        """The Auto Scaling target lifecycle state becomes ``state`` (e.g. Terminated) at t+``after`` s."""
        return self.schedule_metadata(after, "autoscaling/target-lifecycle-state", state)

    def clear_announcements(self) -> None:
        """No Spot notice, rebalance recommendation or maintenance; lifecycle InService (the data file has some)."""
        with self._lock:
            self.set_metadata("spot", None)
            self.set_metadata("events/recommendations/rebalance", None)
            self.set_metadata("events/maintenance/scheduled", {"$json": []})
            self.set_metadata("events/maintenance/history", {"$json": []})
            self.set_metadata("autoscaling/target-lifecycle-state", "InService")

    def update_identity_document(self, **fields: Any) -> dict:
        """Merge ``fields`` (instanceId=..., region=...) into dynamic/instance-identity/document; returns it."""
        with self._lock:
            document = self.dynamic.setdefault("instance-identity", {}).setdefault("document", {"$json": {}})
            document.setdefault("$json", {}).update(fields)
            return dict(document["$json"])

    def set_role(self, role_name: str | None, **profile: Any) -> None:
        """Attach a role (instance profile) or, with None, detach it: iam/ then answers 404."""
        with self._lock:
            if role_name is None:
                self.iam = None
                self.credentials = None
                return
            self.iam = {**(self.iam or {}), "role_name": role_name, **profile}
            self.iam.setdefault("instance_profile_arn", f"arn:aws:iam::123456789012:instance-profile/{role_name}")
            self.iam.setdefault("instance_profile_id", "AIPAXAMPLEPROFILE0001")
        self.rotate_credentials()

    def rotate_credentials(self, expires_in: float | None = None, code: str = "Success") -> dict:
        """Issue a fresh set of role credentials, as EC2 does some minutes before the old ones expire."""
        with self._lock:
            if not self.iam:
                raise ValueError("no role is attached; call set_role first")
            now = datetime.now(timezone.utc)
            lifetime = self.iam.get("credentials_lifetime", 21600) if expires_in is None else expires_in
            self.credentials = {
                "Code": code,
                "LastUpdated": _iso(now),
                "Type": "AWS-HMAC",
                # Random per emulator so secret-hygiene tests can search output for these exact values.
                "AccessKeyId": "ASIA" + secrets.token_hex(8).upper(),
                "SecretAccessKey": secrets.token_urlsafe(30),
                "Token": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(120),
                "Expiration": _iso(now + timedelta(seconds=lifetime)),
            }
            self.issued_secrets += [self.credentials[key] for key in ("AccessKeyId", "SecretAccessKey", "Token")]
            return dict(self.credentials)

    def set_credentials(
        self,
        access_key_id: str,
        secret_access_key: str,
        token: str,
        expires_in: float | None = None,
        code: str = "Success",
    ) -> dict:
        """Serve these credential values (e.g. ones moto issued for AssumeRole) for the attached role."""
        with self._lock:
            self.rotate_credentials(expires_in=expires_in, code=code)
            self.credentials.update(AccessKeyId=access_key_id, SecretAccessKey=secret_access_key, Token=token)
            self.issued_secrets += [access_key_id, secret_access_key, token]
            return dict(self.credentials)

    def reset_counters(self) -> None:
        with self._lock:
            self.counters.clear()
            self.path_counts.clear()

    def state(self) -> dict:
        with self._lock:
            return {
                "options": self.effective_options(),
                "client_hops": self.client_hops,
                "latency": self.latency,
                "throttle_rps": self.throttle_rps,
                "http10": self.http10,
                "role": self.iam["role_name"] if self.iam else None,
                "faults": [fault.describe() for fault in self._faults],
                "counters": dict(self.counters),
                "path_counts": dict(self.path_counts),
            }

    # ----------------------------------------------------------------- request handling
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def throttled(self) -> bool:
        if not self.throttle_rps:
            return False
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] > 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.throttle_rps:
                return True
            self._recent.append(now)
        return False

    def count(self, kind: str, status: int, path: str | None = None) -> None:
        with self._lock:
            self.counters[kind] += 1
            self.counters["total"] += 1
            self.counters[f"status_{status}"] += 1
            if path is not None:
                self.path_counts[path] += 1

    def issue_token(self, ttl: int) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
        with self._lock:
            self._tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
            if expiry is None:
                return False
            if time.monotonic() >= expiry:
                del self._tokens[token]
                return False
            return True

    def tree(self) -> dict:
        """The whole /latest/ tree as it stands now, iam/ and tags/ included when they apply."""
        self._apply_due_changes()
        with self._lock:
            metadata = copy.deepcopy(self.metadata)
            if self.iam:
                info = {
                    "Code": "Success",
                    "LastUpdated": self.credentials["LastUpdated"]
                    if self.credentials
                    else _iso(datetime.now(timezone.utc)),
                    "InstanceProfileArn": self.iam["instance_profile_arn"],
                    "InstanceProfileId": self.iam["instance_profile_id"],
                }
                metadata["iam"] = {
                    "info": {"$json": info},
                    "security-credentials": {self.iam["role_name"]: {"$json": dict(self.credentials or {})}},
                }
            if self.effective_options()["instance_metadata_tags"] == "enabled":
                metadata["tags"] = {"instance": dict(self.tags)}
            tree: dict[str, Any] = {"meta-data": metadata, "dynamic": copy.deepcopy(self.dynamic)}
            identity = tree["dynamic"].get("instance-identity")
            if self.identity_signer and identity and "document" in identity:
                identity.update(self.identity_signer.signatures(render(identity["document"])))
            if self.user_data is not None:
                tree["user-data"] = self.user_data
            return tree


def _identity_signer() -> Any:
    """tests/emulator/identity_signing.py's signer, or None without cryptography (the data file's placeholder
    signatures are served then)."""
    here = os.path.dirname(EMULATOR_SCRIPT)
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        import identity_signing
    except ImportError:
        return None
    return identity_signing.IdentitySigner()


def _identity_certificates(emulator: ImdsEmulator) -> dict:
    """GET /_emulator/identity-certificates: the PEM certificates that verify each signature, and expired ones."""
    signer = emulator.identity_signer
    if signer is None:
        raise ValueError("identity signing needs the cryptography library")
    return {"current": signer.certificates(), "expired": signer.certificates(expired=True)}


def resolve(tree: dict, parts: list[str]) -> Any:
    """Follow path parts through the tree; ``0`` finds a ``0=name`` entry like public-keys/0/."""
    node: Any = tree
    parent = None
    for part in parts:
        if not isinstance(node, dict) or "$json" in node:
            return None
        if part in node:
            node, parent = node[part], part
            continue
        if parent != "public-keys":
            return None
        parent = part
        indexed = [key for key in node if "=" in key and key.split("=", 1)[0] == part]
        if not indexed:
            return None
        node = node[indexed[0]]
    return node


def render(node: Any, top_level: bool = False, public_keys: bool = False) -> bytes:
    if isinstance(node, bytes):
        return node
    if isinstance(node, str):
        return node.encode()
    if "$json" in node:
        return json.dumps(node["$json"], indent=2).encode()
    entries = []
    for key, value in node.items():
        is_dir = isinstance(value, dict) and "$json" not in value
        # public-keys lists "0=name" without a slash although 0/ is a directory; /latest/ lists bare names.
        entries.append(key + ("/" if is_dir and not public_keys and not top_level else ""))
    return "\n".join(entries).encode()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a client opening 8 connections at once while the
    # accepting thread waits for the GIL; the client then sees a 1 s connect timeout that real IMDS never causes.
    request_queue_size = 64
    emulator: ImdsEmulator

    def get_request(self) -> Any:
        stall = self.emulator.accept_stall
        if stall:
            stall.before_accept(self.socket)
        connection = super().get_request()
        if stall:
            stall.accepted += 1
        return connection


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK
    # (about 40 ms on Linux) on every keep-alive request, which real IMDS never does.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return "EC2ws"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass

    # http.server dispatches on do_<METHOD>
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    # ----------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes = b"", content_type: str = "text/plain", headers: dict | None = None
    ) -> None:
        emulator = self.server.emulator
        if emulator.http10:
            self.protocol_version = "HTTP/1.0"
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close" if emulator.http10 else "keep-alive")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error_page(self, status: int, reason: str, headers: dict | None = None) -> None:
        self._send(status, _error_page(status, reason), "text/html", headers)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST, as a dropped connection looks to the client.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _hold(self, seconds: float) -> None:
        """Keep the connection open without answering, until the client gives up or time runs out."""
        deadline = time.monotonic() + seconds
        self.connection.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                if self.connection.recv(1, socket.MSG_PEEK) == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.close_connection = True

    # ----------------------------------------------------------------- the service
    def _dispatch(self) -> None:
        emulator = self.server.emulator
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        if path.startswith(CONTROL_PREFIX):
            self._control(path[len(CONTROL_PREFIX) :], body)
            return
        if emulator.latency:
            time.sleep(emulator.latency)
        fault = emulator.take_fault(self.command, path)
        if fault and self._apply_fault(fault, path):
            return
        status, kind, payload, content_type, headers = self._answer(path)
        emulator.count(kind, status, None if kind == "token_put" else f"{self.command} {path}")
        if emulator.request_observer is not None:
            emulator.request_observer(kind, status, self.headers.get(TOKEN_HEADER) is not None)
        if fault and fault.kind == "body" and status == 200:
            payload = fault.params.get("body", "").encode()
        if fault and fault.kind == "truncate" and status == 200:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload) + 100))
            self.end_headers()
            self.wfile.write(payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self._reset()
            return
        if status == 200:
            self._send(200, payload, content_type, headers)
        else:
            self._send_error_page(status, http.HTTPStatus(status).phrase, headers)

    def _apply_fault(self, fault: Fault, path: str) -> bool:
        """Carry out a fault; True when it produced the whole response."""
        emulator = self.server.emulator
        kind = fault.kind
        if kind == "delay":
            # In-process tests may hold the answer on events instead of a clock: ``arrived`` is set once the request
            # is here, and the answer waits for ``release`` (``seconds`` at most). A test that acts while a request
            # waits then needs no timer of its own, which load could fire before or after the answer.
            seconds = float(fault.params.get("seconds", 2.0))
            arrived, release = fault.params.get("arrived"), fault.params.get("release")
            if arrived is not None:
                arrived.set()
            if release is not None:
                release.wait(seconds)
            else:
                time.sleep(seconds)
            return False
        if kind in ("body", "truncate"):
            return False  # applied to the normal answer
        if kind in HOSTILE_FAULTS:
            emulator.count(f"fault_{kind}", 0)
            status, _kind, payload, _type, _headers = self._answer(path)
            HOSTILE_FAULTS[kind](self, fault.params, payload)
            self.close_connection = True
            return True
        emulator.count(f"fault_{kind}", 0)
        if kind == "status":
            status = int(fault.params.get("status", 500))
            self._send_error_page(status, http.HTTPStatus(status).phrase)
        elif kind == "blackhole":
            self._hold(float(fault.params.get("seconds", BLACKHOLE_SECONDS)))
        elif kind == "reset":
            self._reset()
        elif kind == "redirect":
            location = fault.params.get("location", "http://127.0.0.2/latest/meta-data/")
            self._send(int(fault.params.get("status", 302)), b"", headers={"Location": location})
        return True

    def _answer(self, path: str) -> tuple:
        """Status, counter kind, body, content type and extra headers for a request, as IMDS answers it."""
        emulator = self.server.emulator
        options = emulator.effective_options()
        method = self.command
        is_token_path = path.rstrip("/").endswith("/api/token")
        kind = "token_put" if is_token_path and method == "PUT" else "head" if method == "HEAD" else "get"
        if emulator.throttled():
            return 429, "throttled", b"", "text/html", {}
        if options["http_endpoint"] == "disabled":
            return 403, kind, b"", "text/html", {}
        if is_token_path:
            return self._token_request(path, options)
        if method not in ("GET", "HEAD"):
            return 405, "rejected", b"", "text/html", {"Allow": "GET, HEAD"}
        token = self.headers.get(TOKEN_HEADER)
        if token is not None:
            if not emulator.token_valid(token):
                return 401, "rejected", b"", "text/html", {}
            kind += "_v2"
        elif options["http_tokens"] == "required":
            return 401, "rejected", b"", "text/html", {}
        else:
            kind += "_v1"
        return self._metadata(path, kind)

    def _token_request(self, path: str, options: dict) -> tuple:
        emulator = self.server.emulator
        if self.command != "PUT":
            return 405, "rejected", b"", "text/html", {"Allow": "OPTIONS, PUT"}
        if path.rstrip("/") != TOKEN_PATH or self.headers.get("X-Forwarded-For"):
            return 403, "token_put", b"", "text/html", {}
        ttl = self.headers.get(TOKEN_TTL_HEADER, "")
        if not ttl.strip().isdigit() or not 1 <= int(ttl) <= MAX_TOKEN_TTL:
            return 400, "token_put", b"", "text/html", {}
        if emulator.client_hops > options["http_put_response_hop_limit"]:
            # The answer's IP TTL runs out before it reaches the client: it never arrives.
            emulator.count("token_put_dropped", 0)
            self._hold(BLACKHOLE_SECONDS)
            raise _Dropped()
        token = emulator.issue_token(int(ttl))
        return 200, "token_put", token.encode(), "text/plain", {TOKEN_TTL_HEADER: str(int(ttl))}

    def _metadata(self, path: str, kind: str) -> tuple:
        emulator = self.server.emulator
        parts = [unquote(part) for part in path.split("/") if part]
        if not parts:
            return 200, kind, "\n".join(API_VERSIONS).encode(), "text/plain", {}
        if parts[0] not in API_VERSIONS:
            return 404, kind, b"", "text/html", {}
        tree = emulator.tree()
        if len(parts) == 1:
            return 200, kind, render(tree, top_level=True), "text/plain", {}
        node = resolve(tree, parts[1:])
        if node is None:
            return 404, kind, b"", "text/html", {}
        content_type = "application/octet-stream" if parts[1] == "user-data" else "text/plain"
        return 200, kind, render(node, public_keys=parts[-1] == "public-keys"), content_type, {}

    # ----------------------------------------------------------------- control interface
    def _control(self, action: str, body: bytes) -> None:
        emulator = self.server.emulator
        route = CONTROL_ROUTES.get((self.command, action.rstrip("/")))
        if route is None:
            self._send(
                404, json.dumps({"error": f"no control route {self.command} {action}"}).encode(), "application/json"
            )
            return
        try:
            result = route(emulator, body)
        except (ValueError, TypeError, KeyError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
            return
        self._send(200, json.dumps(result if result is not None else {"ok": True}).encode(), "application/json")

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Dropped:
            self.close_connection = True
        except (ConnectionError, OSError):
            self.close_connection = True


class _Dropped(Exception):
    """The response was dropped on purpose; the connection is simply closed."""


def _json(body: bytes) -> dict:
    return json.loads(body or b"{}")


def _user_data(emulator: ImdsEmulator, body: bytes) -> None:
    """PUT /_emulator/user-data: the body is the raw user-data, gzip included."""
    emulator.set_user_data(body)


def _user_data_base64(emulator: ImdsEmulator, body: bytes) -> None:
    """POST /_emulator/user-data with {"base64": "..."} (null removes it): binary-safe from Ansible's uri module."""
    encoded = _json(body).get("base64")
    emulator.set_user_data(None if encoded is None else base64.b64decode(encoded))


def _moto_link() -> Any:
    """tests/emulator/moto_link.py, imported only when a link to moto is asked for (it needs boto3)."""
    here = os.path.dirname(EMULATOR_SCRIPT)
    if here not in sys.path:
        sys.path.insert(0, here)
    import moto_link

    return moto_link


def _link_moto(emulator: ImdsEmulator, body: bytes) -> dict:
    """POST /_emulator/link-moto {"endpoint", "instance_id", "region", "metrics", "metrics_time_offset"}: answer as
    that moto instance (and count its IMDSv1 use in moto's CloudWatch, see moto_link)."""
    request = _json(body)
    try:
        metrics = {name: request[name] for name in ("metrics", "metrics_time_offset") if name in request}
        return _moto_link().link_emulator(
            emulator, request["endpoint"], request["instance_id"], request.get("region"), **metrics
        )
    except (KeyError, ValueError):
        raise
    except Exception as exc:  # boto3 missing, moto unreachable, unknown instance: a 400 that says why
        raise ValueError(f"cannot link to moto: {exc}") from exc


CONTROL_ROUTES: dict[tuple[str, str], Callable[[ImdsEmulator, bytes], Any]] = {
    ("GET", "state"): lambda emulator, body: emulator.state(),
    ("GET", "identity-certificates"): lambda emulator, body: _identity_certificates(emulator),
    ("POST", "options"): lambda emulator, body: emulator.set_options(**_json(body)),
    ("POST", "faults"): lambda emulator, body: emulator.add_fault(**_json(body)),
    ("DELETE", "faults"): lambda emulator, body: emulator.clear_faults(),
    ("POST", "expire-tokens"): lambda emulator, body: emulator.expire_tokens(),
    ("PUT", "user-data"): _user_data,
    ("POST", "user-data"): _user_data_base64,
    ("DELETE", "user-data"): lambda emulator, body: emulator.set_user_data(None),
    ("POST", "tags"): lambda emulator, body: emulator.set_tags(_json(body)),
    ("POST", "metadata"): lambda emulator, body: emulator.set_metadata(**_json(body)),
    # {"after": seconds, "path": "spot/instance-action", "value": {"$json": {...}}}: a change at t+after.
    ("POST", "schedule"): lambda emulator, body: {
        "due_in": emulator.schedule_metadata(**_json(body)) - time.monotonic()
    },
    ("POST", "clear-announcements"): lambda emulator, body: emulator.clear_announcements(),
    ("POST", "role"): lambda emulator, body: emulator.set_role(**_json(body)),
    ("POST", "credentials"): lambda emulator, body: _public_credentials(emulator.rotate_credentials(**_json(body))),
    ("GET", "credentials"): lambda emulator, body: emulator.credentials,
    # Every credential value served so far: a test run searches its own output for them (no target may print one).
    ("GET", "issued-secrets"): lambda emulator, body: list(emulator.issued_secrets),
    ("PUT", "credentials"): lambda emulator, body: _public_credentials(emulator.set_credentials(**_json(body))),
    ("POST", "reset-counters"): lambda emulator, body: emulator.reset_counters(),
    ("POST", "accept-stall"): lambda emulator, body: emulator.stall_accepts(**_json(body)),
    ("POST", "link-moto"): _link_moto,
    ("DELETE", "link-moto"): lambda emulator, body: _moto_link().unlink_emulator(emulator),
}


def _public_credentials(credentials: dict) -> dict:
    return {key: value for key, value in credentials.items() if key in ("Code", "LastUpdated", "Expiration", "Type")}


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed mtime, so tests get the same bytes every run."""
    return gzip.compress(data, mtime=0)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Emulate the EC2 Instance Metadata Service on a loopback address.")
    parser.add_argument("--bind", default="127.0.0.1", help="loopback address to bind (127.0.0.1 or ::1)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data", default=DEFAULT_DATA_FILE, help="instance data file (JSON)")
    parser.add_argument("--http-tokens", choices=OPTION_CHOICES["http_tokens"])
    parser.add_argument("--http-endpoint", choices=OPTION_CHOICES["http_endpoint"])
    parser.add_argument("--hop-limit", type=int, dest="http_put_response_hop_limit")
    parser.add_argument("--instance-metadata-tags", choices=OPTION_CHOICES["instance_metadata_tags"])
    parser.add_argument("--http-protocol-ipv6", choices=OPTION_CHOICES["http_protocol_ipv6"])
    parser.add_argument("--client-hops", type=int, default=1, help="hops between client and IMDS (2 = container)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--throttle-rps", type=float, help="answer 429 above this many requests per second")
    parser.add_argument("--no-role", action="store_true", help="start without an instance profile attached")
    parser.add_argument("--port-file", help="also write the bound port to this file")
    parser.add_argument("--moto-endpoint", help="take the metadata options from this moto server (needs boto3)")
    parser.add_argument("--moto-instance-id", help="the moto instance to answer as, with --moto-endpoint")
    parser.add_argument("--moto-region", help="the moto instance's region (default: AWS_DEFAULT_REGION or eu-west-1)")
    args = parser.parse_args(argv)
    if args.moto_endpoint and not args.moto_instance_id:
        parser.error("--moto-endpoint needs --moto-instance-id")

    with open(args.data, encoding="utf-8") as handle:
        instance = json.load(handle)
    if args.no_role:
        instance["iam"] = None
    options = {
        name: getattr(args, name)
        for name in (
            "http_tokens",
            "http_endpoint",
            "http_put_response_hop_limit",
            "instance_metadata_tags",
            "http_protocol_ipv6",
        )
        if getattr(args, name) is not None
    }
    emulator = ImdsEmulator(
        instance,
        host=args.bind,
        port=args.port,
        client_hops=args.client_hops,
        latency=args.latency_ms / 1000.0,
        throttle_rps=args.throttle_rps,
        **options,
    ).start()
    if args.moto_endpoint:
        _moto_link().link_emulator(emulator, args.moto_endpoint, args.moto_instance_id, args.moto_region)
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as handle:
            handle.write(str(emulator.port))
    print(json.dumps({"url": emulator.url, "port": emulator.port}), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
