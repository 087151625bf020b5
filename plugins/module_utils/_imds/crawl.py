# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Directory listings and the concurrent crawler that walks a metadata subtree."""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsBadResponse, ImdsNotFound
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import (
    MAX_CRAWL_BYTES,
    MAX_CRAWL_DEPTH,
    MAX_CRAWL_PATHS,
    MAX_LISTING_ENTRIES,
)

_STOP = 2


@dataclass(frozen=True)
class ListingEntry:
    """One line of a listing. ``name`` is the key in the crawled tree, ``segment`` the next path segment."""

    name: str
    segment: str
    is_dir: bool


def parse_listing(text: str, public_keys: bool = False) -> list[ListingEntry]:
    """Parse a listing exactly: ``name/`` is a directory; under public-keys/, ``0=name`` is directory ``0/``.

    ``=`` means nothing elsewhere, since tag keys may contain it. A name listed twice is one entry, and where it is
    listed both as a leaf and as a directory (some third-party IMDS servers do), the directory wins.
    """
    entries: dict = {}
    for line in text.split("\n"):
        line = line.strip("\r")
        if not line.strip():
            continue
        if public_keys and "=" in line:
            entry = ListingEntry(name=line, segment=line.split("=", 1)[0], is_dir=True)
        elif line.endswith("/"):
            entry = ListingEntry(name=line[:-1], segment=line[:-1], is_dir=True)
        else:
            entry = ListingEntry(name=line, segment=line, is_dir=False)
        # IMDS never lists these; something else at the endpoint might, and reading them would read another path
        # (the directory itself, its parent, a deeper one; a backslash is a '/' to some servers) or loop.
        if entry.segment in ("", ".", "..") or "/" in entry.segment or "\\" in entry.segment:
            continue
        if entry.name not in entries or entry.is_dir:
            entries[entry.name] = entry
    return list(entries.values())


def is_public_keys_path(path: str) -> bool:
    return path.rstrip("/").endswith("public-keys")


@dataclass
class CrawlResult:
    tree: dict
    missing: list = field(default_factory=list)
    requests: int = 0
    # Listed entries that were never requested because ``skip`` said so (e.g. credential documents).
    skipped: list = field(default_factory=list)
    # Each seed path's own value (a leaf's value, or a directory's subtree), even where seeds overlap.
    values: dict = field(default_factory=dict)


def _join(base: str, segment: str) -> str:
    return f"{base.rstrip('/')}/{segment}" if base else segment


def _decode_leaf(path: str, body: bytes) -> Any:
    return body.decode("utf-8", errors="replace")


def walk(
    client: Any,
    dirs: Iterable[str] = (),
    leaves: Iterable[str] = (),
    max_workers: int | None = None,
    skip: Callable[[str, bool], bool] | None = None,
    transform: Callable[[str, bytes], Any] | None = None,
    missing_ok: bool = True,
) -> CrawlResult:
    """Fetch several subtrees (``dirs``) and single documents (``leaves``) in one pool, one deadline.

    The tree is keyed by full path segments (``tree["meta-data"]["placement"]["region"]``). The first seed is
    requested alone, so that an unreachable endpoint or a refused token fails once instead of once per worker;
    everything else then runs concurrently, listings before leaves: a listing opens more work, so the deepest
    chain (meta-data/network/interfaces/macs/...) is not kept waiting behind dozens of leaves. With
    ``missing_ok``, a seed that answers 404 goes to ``missing``.
    """
    workers = max(1, max_workers or client.config.max_concurrency)
    deadline = client.new_deadline()
    before = client.stats["requests"]
    result = CrawlResult(tree={})
    decode = transform or _decode_leaf
    seeds = [("dir", d.strip("/")) for d in dirs] + [("leaf", leaf.strip("/")) for leaf in leaves]
    if not seeds:
        return result

    def place(full: str, value: Any) -> Any:
        """Put ``value`` at ``full`` and return what is there; a directory wins over a leaf of the same name."""
        parts = [part for part in full.split("/") if part]
        node = result.tree
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if not parts:
            return node
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
        return node[parts[-1]]

    # (priority, order, job): listings (0) before leaves (1); the stop marker (2) after everything.
    work: queue.PriorityQueue = queue.PriorityQueue()
    done: queue.Queue = queue.Queue()
    order = itertools.count()
    stopping = threading.Event()

    def run_worker() -> None:
        while True:
            priority, _sequence, job = work.get()
            if priority == _STOP:
                return
            kind, full = job[0], job[1]
            if stopping.is_set():
                done.put((job, None, None))
                continue
            try:
                body = client.get_text(full + "/", deadline) if kind == "dir" else client.get(full, deadline)
            except BaseException as error:  # handed to the walking thread, which raises it
                done.put((job, None, error))
            else:
                done.put((job, body, None))

    def submit(kind: str, full: str, key_path: str, is_seed: bool = False) -> None:
        work.put((0 if kind == "dir" else 1, next(order), (kind, full, key_path, is_seed)))

    threads = [threading.Thread(target=run_worker, name=f"imds-crawl-{index}", daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    first, rest = seeds[0], seeds[1:]
    submit(first[0], first[1], first[1], is_seed=True)
    outstanding = 1
    submitted = len(seeds)
    received = 0
    try:
        while outstanding:
            (kind, full, key_path, is_seed), body, error = done.get()
            outstanding -= 1
            if is_seed and full == first[1] and rest:
                for seed_kind, seed_path in rest:
                    submit(seed_kind, seed_path, seed_path, is_seed=True)
                outstanding += len(rest)
                rest = []
            if isinstance(error, ImdsNotFound):
                if is_seed and not missing_ok:
                    raise error
                result.missing.append(full)
                continue
            if error is not None:
                raise error
            received += len(body)
            if received > MAX_CRAWL_BYTES:
                raise ImdsBadResponse(
                    f"IMDS's answers add up to {received} bytes at {client.config.endpoint}/latest/{full}, over the "
                    f"cap of {MAX_CRAWL_BYTES} bytes for one crawl: no EC2 instance serves that much metadata. Check "
                    "the endpoint option; read narrower paths if this service really serves it.",
                    url=f"{client.config.endpoint}/latest/{full}",
                )
            if kind == "leaf":
                value = decode(full, body)
                place(key_path, value)
                if is_seed:
                    result.values[full] = value
                continue
            place(key_path, {})
            children = []
            entries = parse_listing(body, public_keys=is_public_keys_path(full))
            if len(entries) > MAX_LISTING_ENTRIES:
                raise _over_cap(client, full, f"lists {len(entries)} entries", f"{MAX_LISTING_ENTRIES} entries")
            if entries and key_path.count("/") + 1 >= MAX_CRAWL_DEPTH:
                raise _over_cap(client, full, "goes deeper than any real metadata path", f"{MAX_CRAWL_DEPTH} levels")
            for entry in entries:
                child = _join(full, entry.segment)
                if skip is not None and skip(child, entry.is_dir):
                    result.skipped.append(child)
                    continue
                children.append(("dir" if entry.is_dir else "leaf", child, _join(key_path, entry.name)))
            # Directories are queued before leaves: a worker may take a job the moment it is queued, so queueing in
            # listing order would let a leaf (ami-id) go before the directories listed after it.
            children.sort(key=lambda child: child[0] != "dir")
            submitted += len(children)
            if submitted > MAX_CRAWL_PATHS:
                raise _over_cap(client, full, f"leads to over {MAX_CRAWL_PATHS} paths", f"{MAX_CRAWL_PATHS} paths")
            for child_kind, child, child_key in children:
                submit(child_kind, child, child_key)
            outstanding += len(children)
    finally:
        stopping.set()
        for _thread in threads:
            work.put((_STOP, next(order), None))
        for thread in threads:
            thread.join()
    for kind, seed in seeds:
        if kind == "dir" and seed not in result.missing:
            result.values[seed] = subtree(result.tree, seed)
    result.requests = client.stats["requests"] - before
    return result


def subtree(tree: dict, path: str) -> Any:
    """The node at ``path`` in a walked tree."""
    node: Any = tree
    for part in [part for part in path.split("/") if part]:
        node = node[part]
    return node


def _over_cap(client: Any, path: str, what: str, cap: str) -> ImdsBadResponse:
    url = f"{client.config.endpoint}/latest/{path}/"
    return ImdsBadResponse(
        f"IMDS's listing {url} {what}, over the cap of {cap} for one crawl: no EC2 instance has such a tree. Check "
        "the endpoint option; read a narrower path if this service really serves it.",
        url=url,
    )
