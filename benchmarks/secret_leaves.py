# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The leaf masking of metadata_facts, metadata and the lookup (module_utils/_secret_fields.py) on hostile leaves.

    .venv/bin/python benchmarks/secret_leaves.py [--sizes 10000 100000 1000000]

Each row is a leaf shaped against one of its regular expressions or its JSON walk, at each size (IMDS answers are
bounded at 1 MiB for a whole walk, so 10^6 is the worst a leaf can be). Time must grow linearly with the size.
Prints a table of wall times (best of three).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / ".build" / "collections"))

CASES = {
    "only quotes": lambda n: '"' * n,
    "a quote every 200": lambda n: ('"' + "a" * 199) * (n // 200),
    "quoted names, long blanks": lambda n: ('"a"' + " " * 997) * (n // 1000),
    "AKIA repeated": lambda n: "AKIA" * (n // 4),
    "token prefixes": lambda n: ("IQoJb3JpZ2luX2Vj" + "A" * 15 + " ") * (n // 32),
    "JSON list of strings": lambda n: "[" + ",".join(['"x"'] * (n // 4)) + "]",
    "cut JSON naming a secret": lambda n: '{"Token": "' + "a" * n,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    sizes = parser.parse_args().sizes
    from ansible_collections.ec2meta.imds.plugins.module_utils._secret_fields import mask_leaf

    print("| leaf | " + " | ".join(f"{size:,} chars" for size in sizes) + " |")
    print("|---" * (len(sizes) + 1) + "|")
    for name, make in CASES.items():
        cells = []
        for size in sizes:
            text = make(size)
            best = float("inf")
            for _attempt in range(3):
                began = time.perf_counter()
                mask_leaf(text, set())
                best = min(best, time.perf_counter() - began)
            cells.append(f"{best * 1000:.1f} ms")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
