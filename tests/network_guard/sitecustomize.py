# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refuses, and records, any connection to a non-loopback address from a test process.

Loaded by every Python process of the test suite (pytest, ansible-playbook, the modules it runs, moto) through
PYTHONPATH. Each refusal is appended to $EC2META_NETWORK_GUARD_LOG so the test that caused it fails even when
the code under test swallows the error (an IMDS client turns it into "unreachable").
"""

from __future__ import annotations

import ipaddress
import os
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class NonLoopbackConnectionError(PermissionError):
    pass


def _allowed(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a host name: the test suite only ever uses addresses


def _check(sock: socket.socket, address) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0])
    if _allowed(host):
        return
    message = f"network guard: refused a connection to {host}:{address[1]} (tests may only reach loopback)"
    log = os.environ.get("EC2META_NETWORK_GUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {host}:{address[1]}\n")
    raise NonLoopbackConnectionError(message)


def _guarded_connect(self, address):
    _check(self, address)
    return _original_connect(self, address)


def _guarded_connect_ex(self, address):
    _check(self, address)
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


if os.environ.get("EC2META_NETWORK_GUARD_LOG"):
    install()
