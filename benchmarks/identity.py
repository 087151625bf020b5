# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identity benchmark: what ec2meta.imds.instance_identity costs on the controller, per host.

    .venv/bin/python benchmarks/identity.py [--runs 300]

The emulator's signer (tests/emulator/identity_signing.py) signs the emulator's identity document the three ways
IMDS does; each case then times, in this process, the controller's whole verification of one host's answer
(verify_identity: load the PEM certificate, check its dates and key type, decode the base64, take the PKCS#7
apart, verify the signature and the messageDigest, compare the content with the plain document, parse the JSON,
check the expectations) and, separately, the BER parse alone. Nothing is sent over the network; the network
guard is installed anyway. The target is 10 ms per verification. Each case is run 20 times to warm up, then
--runs times; the table shows the median, the 95th percentile and the maximum.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = REPO_ROOT / "tests" / "network_guard"
EMULATOR_DIR = REPO_ROOT / "tests" / "emulator"
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
TARGET_MS = 10.0
WARM_UP = 20

GUARD_LOG = Path(tempfile.mkdtemp(prefix="ec2meta-bench-")) / "network-guard.log"
os.environ["EC2META_NETWORK_GUARD_LOG"] = str(GUARD_LOG)
sys.path[:0] = [str(GUARD_DIR), str(EMULATOR_DIR)]
import sitecustomize as network_guard  # noqa: E402 - the guard module, from the path above

network_guard.install()


def _load_collection() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "ec2meta" / "imds"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(REPO_ROOT, link.parent))
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS_ROOT)])._install()


def timed(call, runs: int) -> list[float]:
    for _warm_up in range(WARM_UP):
        call()
    times = []
    for _run in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    _load_collection()
    from identity_signing import IdentitySigner
    from imds_emulator import ImdsEmulator, render

    from ansible_collections.ec2meta.imds.plugins.plugin_utils._asn1 import parse
    from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import verify_identity

    document = render(ImdsEmulator().dynamic["instance-identity"]["document"])
    signer = IdentitySigner()
    signatures = signer.signatures(document)
    certificates = signer.certificates()
    expected = {"expected_account_id": "123456789012", "expected_region": "eu-west-1"}
    rows = []
    for kind in ("rsa2048", "pkcs7", "signature"):

        def verify(kind=kind):
            identity = verify_identity(document.decode(), signatures[kind], kind, certificates[kind], expected=expected)
            assert identity.document["instanceId"] == "i-0a1b2c3d4e5f60718"

        rows.append((f"verify_identity {kind}", timed(verify, args.runs)))
        if kind != "signature":
            blob = base64.b64decode("".join(signatures[kind].split()))
            rows.append((f"BER parse only {kind} ({len(blob)} bytes)", timed(lambda blob=blob: parse(blob), args.runs)))
    if GUARD_LOG.exists() and GUARD_LOG.read_text(encoding="utf-8").strip():
        print("FAILED: connections outside loopback were attempted", file=sys.stderr)
        return 1
    import cryptography

    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, {os.cpu_count()} CPUs, "
        f"{args.runs} runs per case after {WARM_UP} warm-up runs; target {TARGET_MS:g} ms per verification\n"
    )
    print("| case | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, times in rows:
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"| {name} | {statistics.median(times):.3f} | {p95:.3f} | {max(times):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
