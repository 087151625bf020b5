# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard itself: a connection outside loopback is refused and recorded, in-process and in subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import requests
import sitecustomize as network_guard


@pytest.mark.parametrize("address", [("169.254.169.254", 80), ("10.255.255.1", 80)])
def test_guard_refuses_non_loopback(address, forget_violations):
    with socket.socket() as sock, pytest.raises(network_guard.NonLoopbackConnectionError):
        sock.connect(address)
    assert forget_violations() == [f"{address[0]}:{address[1]}"]


def test_guard_refuses_the_ipv6_imds_address(forget_violations):
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(network_guard.NonLoopbackConnectionError):
        sock.connect(("fd00:ec2::254", 80, 0, 0))
    assert forget_violations() == ["fd00:ec2::254:80"]


def test_guard_is_active_in_subprocesses(forget_violations):
    code = "import socket; socket.create_connection(('169.254.169.254', 80), timeout=1)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode != 0
    assert "network guard" in completed.stderr
    assert forget_violations() == ["169.254.169.254:80"]


def test_guard_lets_loopback_through(emulator, forget_violations):
    answer = requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=5)
    assert answer.text == emulator.metadata["instance-id"]
    assert forget_violations() == []
