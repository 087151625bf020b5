# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directory listings and the concurrent crawler that walks a metadata subtree."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsNotFound


@dataclass(frozen=True)
class ListingEntry:
    """One line of a listing. ``name`` is the key in the crawled tree, ``segment`` the next path segment."""

    name: str
    segment: str
    is_dir: bool


def parse_listing(text: str, public_keys: bool = False) -> list[ListingEntry]:
    """Parse a listing exactly: ``name/`` is a directory; under public-keys/, ``0=name`` is directory ``0/``.

    ``=`` means nothing elsewhere, since tag keys may contain it.
    """
    entries = []
    for line in text.split("\n"):
        line = line.strip("\r")
        if not line.strip():
            continue
        if public_keys and "=" in line:
            index = line.split("=", 1)[0]
            entries.append(ListingEntry(name=line, segment=index, is_dir=True))
        elif line.endswith("/"):
            entries.append(ListingEntry(name=line[:-1], segment=line[:-1], is_dir=True))
        else:
            entries.append(ListingEntry(name=line, segment=line, is_dir=False))
    return entries


def is_public_keys_path(path: str) -> bool:
    return path.rstrip("/").endswith("public-keys")


@dataclass
class CrawlResult:
    tree: dict
    missing: list = field(default_factory=list)
    requests: int = 0


def _join(base: str, segment: str) -> str:
    return f"{base.rstrip('/')}/{segment}" if base else segment


def crawl(client: Any, path: str = "meta-data", max_workers: int | None = None) -> CrawlResult:
    """Walk ``/latest/<path>/`` with a small bounded pool over the client's one session.

    Every listing and leaf is requested once. A listed entry that then answers 404 (it vanished, or the service
    lists what it cannot serve) is recorded in ``missing`` instead of failing the whole crawl.
    """
    workers = max(1, max_workers or client.config.max_concurrency)
    deadline = client.new_deadline()
    before = client.stats["requests"]
    result = CrawlResult(tree={})
    root = path.strip("/")

    def place(rel_parts: list, value: Any) -> None:
        node = result.tree
        for part in rel_parts[:-1]:
            node = node.setdefault(part, {})
        if rel_parts:
            node[rel_parts[-1]] = value

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imds-crawl") as pool:
        pending: dict[Future, tuple] = {}

        def submit_listing(full: str, rel_parts: list) -> None:
            pending[pool.submit(client.get_text, full + "/", deadline)] = ("dir", full, rel_parts)

        submit_listing(root, [])
        try:
            while pending:
                done = wait(list(pending), return_when=FIRST_COMPLETED).done
                for future in done:
                    kind, full, rel_parts = pending.pop(future)
                    try:
                        body = future.result()
                    except ImdsNotFound:
                        if not rel_parts:
                            raise
                        result.missing.append(full)
                        continue
                    if kind == "leaf":
                        place(rel_parts, body.decode("utf-8", errors="replace"))
                        continue
                    place(rel_parts, {})
                    for entry in parse_listing(body, public_keys=is_public_keys_path(full)):
                        child = _join(full, entry.segment)
                        if entry.is_dir:
                            submit_listing(child, [*rel_parts, entry.name])
                        else:
                            pending[pool.submit(client.get, child, deadline)] = (
                                "leaf",
                                child,
                                [*rel_parts, entry.name],
                            )
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    result.requests = client.stats["requests"] - before
    return result
