# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test harness shared by every pytest test: the collection on the import path, the network guard, the emulator."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
GUARD_DIR = REPO_ROOT / "tests" / "network_guard"
EMULATOR_DIR = REPO_ROOT / "tests" / "emulator"


def _link_collection() -> None:
    """Expose the checkout as ansible_collections/ec2meta/imds, as ansible-test and ansible-playbook expect."""
    link = COLLECTIONS_ROOT / "ansible_collections" / "ec2meta" / "imds"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(REPO_ROOT, link.parent))


def _install_collection_finder() -> None:
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS_ROOT)])._install()


_link_collection()
_install_collection_finder()
for extra in (str(GUARD_DIR), str(EMULATOR_DIR)):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import sitecustomize as network_guard  # noqa: E402 - needs the path above
from hypothesis import settings  # noqa: E402

# A shared 2-core CI runner can stall any example past hypothesis's 200 ms deadline; a property fails on what it
# checks, never on the clock. print_blob lets a CI failure be replayed here with @reproduce_failure.
settings.register_profile("ec2meta", deadline=None, print_blob=True)
settings.load_profile("ec2meta")
from imds_emulator import ImdsEmulator  # noqa: E402

GUARD_LOG = Path(tempfile.gettempdir()) / f"ec2meta-network-guard-{os.getpid()}.log"
os.environ["EC2META_NETWORK_GUARD_LOG"] = str(GUARD_LOG)
# Subprocesses (ansible-playbook, the modules it runs, moto) load the guard through PYTHONPATH.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))
# Nothing in a test may fall back to the real IMDS addresses through the SDK variables of the outer shell.
for name in (
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
):
    os.environ.pop(name, None)
network_guard.install()


# The test files that touch what changes between ansible-core versions: AnsibleModule (every module's main(), the
# wrapper in _module.py), the action, lookup and filter plugins, doc fragments, ansible-doc and ansible-playbook.
# scripts/matrix.sh --ci runs only these on the other ansible-core versions (the rest, plain Python over requests,
# boto3 and the emulator, runs once on .venv's). A rule over the file's text rather than a list: a new test that
# uses one of these is picked up without anyone remembering to add it (tests/unit/test_ansible_core_marker.py
# checks that no other shared code loads ansible-core).
ANSIBLE_CORE_USES = re.compile(
    r"from ansible\.|import ansible\b|ansible-(doc|playbook)|\brun_module\b"
    r"|plugins\.(modules|action|lookup|filter|doc_fragments)\b"
    r"|_identity_verification|_campaign_report|module_utils(\.| import )_module\b"
)


def touches_ansible_core(path: Path) -> bool:
    return bool(ANSIBLE_CORE_USES.search(path.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(items):
    verdicts: dict[Path, bool] = {}
    for item in items:
        path = Path(item.path)
        if path not in verdicts:
            verdicts[path] = touches_ansible_core(path)
        if verdicts[path]:
            item.add_marker(pytest.mark.ansible_core)


def pytest_terminal_summary(terminalreporter):
    """Name every skipped test in scripts/test.sh's list of what did not run (EC2META_SKIPPED_LOG), with its reason."""
    log = os.environ.get("EC2META_SKIPPED_LOG")
    if not log:
        return
    lines = []
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        lines.append(f"pytest: {report.nodeid}: {reason.removeprefix('Skipped: ')}\n")
    if lines:
        with open(log, "a", encoding="utf-8") as handle:
            handle.writelines(lines)


def guard_violations() -> list[str]:
    if not GUARD_LOG.exists():
        return []
    return GUARD_LOG.read_text(encoding="utf-8").splitlines()


@pytest.fixture(autouse=True)
def _no_outside_connections():
    """Fail any test that tried to reach a non-loopback address, even if the code under test hid the error."""
    before = len(guard_violations())
    yield
    new = guard_violations()[before:]
    if new:
        pytest.fail(f"test tried to connect outside loopback: {', '.join(new)}", pytrace=False)


@pytest.fixture
def forget_violations():
    """For tests of the guard itself: returns the violations they caused and removes them from the log."""
    mark = len(guard_violations())

    def forget() -> list[str]:
        lines = guard_violations()
        GUARD_LOG.write_text("".join(line + "\n" for line in lines[:mark]), encoding="utf-8")
        return [line.split(" ", 1)[1] for line in lines[mark:]]

    return forget


@pytest.fixture
def emulator():
    """A fresh emulated instance on 127.0.0.1 and a free port, stopped after the test."""
    with ImdsEmulator() as running:
        yield running


@pytest.fixture
def make_client(emulator):
    """Build a client for the emulator; keyword arguments are client options (client_config_from_params)."""
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params

    clients = []

    def factory(environ: dict | None = None, **options):
        options.setdefault("endpoint", emulator.url)
        client = ImdsClient(client_config_from_params(environ=environ or {}, **options))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto in server mode on 127.0.0.1 and a free port: a real EC2/STS API for the whole session."""
    from moto.server import ThreadedMotoServer
    from moto_ec2_gaps import install as install_ec2_gaps

    install_ec2_gaps()  # the EC2 calls moto lacks (tests/emulator/MOTO_GAPS.md)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1")
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ec2(moto_endpoint):
    """A boto3 EC2 client on the moto server."""
    import boto3

    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")


@pytest.fixture
def instance_id(ec2):
    """A fresh instance in moto (moto 5 knows ami-12c6146b)."""
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro")
    return reservation["Instances"][0]["InstanceId"]


@pytest.fixture
def blackhole_endpoint():
    """An endpoint on 127.0.0.1 whose connects never complete: a full accept queue makes Linux drop the SYNs."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=1)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    filler.close()
    listener.close()
