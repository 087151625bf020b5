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

# Job kinds, also their priority in the work queue: listings before leaves, the stop marker after both.
_DIR = 0
_LEAF = 1
_STOP_PRIORITY = 2


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
    crawl = _Crawl(client, skip, transform, missing_ok)
    before = client.stats["requests"]
    seeds = [(_DIR, d.strip("/")) for d in dirs] + [(_LEAF, leaf.strip("/")) for leaf in leaves]
    if not seeds:
        return crawl.result
    crawl.run(seeds, 1 if _nothing_to_overlap(seeds) else workers)
    crawl.collect_seed_values(seeds)
    crawl.result.requests = client.stats["requests"] - before
    return crawl.result


def _nothing_to_overlap(seeds: list) -> bool:
    """Leaves only, at most two: the first goes alone and the second after it, so worker threads would only wait."""
    return len(seeds) <= 2 and all(kind == _LEAF for kind, _path in seeds)


class _Crawl:
    """One walk: the tree it builds, the caps' counters, and the queues shared with its worker threads.

    A job is ``(kind, full, key_path, is_seed)``. With one worker the walking thread makes the requests itself, in
    the order a single worker thread would take them from the queue: starting threads costs more than they save.
    """

    def __init__(self, client: Any, skip: Callable | None, transform: Callable | None, missing_ok: bool):
        self.client = client
        self.deadline = client.new_deadline()
        self.skip = skip
        self.decode = transform or _decode_leaf
        self.missing_ok = missing_ok
        self.result = CrawlResult(tree={})
        # (kind, order, job): listings (_DIR) before leaves (_LEAF); the stop marker after everything.
        self.work: queue.PriorityQueue = queue.PriorityQueue()
        self.done: queue.Queue = queue.Queue()
        self.order = itertools.count()
        self.stopping = threading.Event()
        self.threads: list = []
        self.rest: list = []  # the seeds after the first, submitted once the first has answered
        self.submitted = 0  # paths queued or about to be, for MAX_CRAWL_PATHS
        self.received = 0  # bytes answered so far, for MAX_CRAWL_BYTES
        # The workers count too: once the cap is crossed they stop fetching, however far behind the walking thread
        # (which decodes and masks each leaf) has fallen.
        self.fetched = 0
        self.fetched_lock = threading.Lock()
        self.cap_error: ImdsBadResponse | None = None

    # ------------------------------------------------------------------ the pool's life
    def run(self, seeds: list, workers: int) -> None:
        """Request the first seed alone, then everything else, until no job is left; stop the workers on the way
        out, also when an answer raised."""
        first, self.rest = seeds[0], seeds[1:]
        self.submitted = len(seeds)
        if workers > 1:
            self._start_workers(workers)
        self.submit(first[0], first[1], first[1], is_seed=True)
        outstanding = 1
        try:
            while outstanding:
                outstanding += self.handle(*self._next_answer()) - 1
        finally:
            self._stop_workers()

    def _start_workers(self, workers: int) -> None:
        for index in range(workers):
            thread = threading.Thread(target=self._run_worker, name=f"imds-crawl-{index}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _stop_workers(self) -> None:
        self.stopping.set()
        for _thread in self.threads:
            self.work.put((_STOP_PRIORITY, next(self.order), None))
        for thread in self.threads:
            thread.join()

    def _run_worker(self) -> None:
        while True:
            priority, _sequence, job = self.work.get()
            if priority == _STOP_PRIORITY:
                return
            self.done.put((job, None, None) if self.stopping.is_set() else self._fetch(job))

    def _next_answer(self) -> tuple:
        if self.threads:
            return self.done.get()
        return self._fetch(self.work.get_nowait()[2])

    def _fetch(self, job: tuple) -> tuple:
        """``(job, body, error)``: a listing as text, a leaf as bytes, or the error for the walking thread to raise."""
        kind, full = job[0], job[1]
        if self.cap_error is not None:
            return job, None, self.cap_error
        try:
            if kind == _DIR:
                body: Any = self.client.get_text(full + "/", self.deadline)
            else:
                body = self.client.get(full, self.deadline)
        except BaseException as error:  # handed to the walking thread, which raises it
            return job, None, error
        with self.fetched_lock:
            self.fetched += len(body)
            if self.fetched > MAX_CRAWL_BYTES and self.cap_error is None:
                self.cap_error = self._over_byte_cap(full, self.fetched)
        return job, body, None

    def submit(self, kind: int, full: str, key_path: str, is_seed: bool = False) -> None:
        self.work.put((kind, next(self.order), (kind, full, key_path, is_seed)))

    # ------------------------------------------------------------------ one answer
    def handle(self, job: tuple, body: Any, error: BaseException | None) -> int:
        """Take one answer into the tree; return how many jobs it queued."""
        kind, full, key_path, is_seed = job
        queued = 0
        if is_seed and self.rest:
            # The first seed has answered: the others may now run concurrently.
            for seed_kind, seed_path in self.rest:
                self.submit(seed_kind, seed_path, seed_path, is_seed=True)
            queued, self.rest = len(self.rest), []
        if isinstance(error, ImdsNotFound):
            if is_seed and not self.missing_ok:
                raise error
            self.result.missing.append(full)
            return queued
        if error is not None:
            raise error
        self._count_bytes(full, body)
        if kind == _LEAF:
            value = self.decode(full, body)
            self.place(key_path, value)
            if is_seed:
                self.result.values[full] = value
            return queued
        self.place(key_path, {})
        return queued + self._read_listing(full, key_path, body)

    def _count_bytes(self, full: str, body: Any) -> None:
        self.received += len(body)
        if self.received > MAX_CRAWL_BYTES:
            raise self._over_byte_cap(full, self.received)

    def _over_byte_cap(self, full: str, total: int) -> ImdsBadResponse:
        endpoint = self.client.config.endpoint
        return ImdsBadResponse(
            f"IMDS's answers add up to {total} bytes at {endpoint}/latest/{full}, over the "
            f"cap of {MAX_CRAWL_BYTES} bytes for one crawl: no EC2 instance serves that much metadata. Check "
            "the endpoint option; read narrower paths if this service really serves it.",
            url=f"{endpoint}/latest/{full}",
        )

    def _read_listing(self, full: str, key_path: str, body: str) -> int:
        """Queue a listing's entries, except those ``skip`` refuses; return how many."""
        entries = parse_listing(body, public_keys=is_public_keys_path(full))
        self._check_listing(full, key_path, entries)
        children = []
        for entry in entries:
            child = _join(full, entry.segment)
            if self.skip is not None and self.skip(child, entry.is_dir):
                self.result.skipped.append(child)
                continue
            children.append((_DIR if entry.is_dir else _LEAF, child, _join(key_path, entry.name)))
        # Directories are queued before leaves: a worker may take a job the moment it is queued, so queueing in
        # listing order would let a leaf (ami-id) go before the directories listed after it.
        children.sort(key=lambda child: child[0] != _DIR)
        self.submitted += len(children)
        if self.submitted > MAX_CRAWL_PATHS:
            raise _over_cap(self.client, full, f"leads to over {MAX_CRAWL_PATHS} paths", f"{MAX_CRAWL_PATHS} paths")
        for child_kind, child, child_key in children:
            self.submit(child_kind, child, child_key)
        return len(children)

    def _check_listing(self, full: str, key_path: str, entries: list) -> None:
        if len(entries) > MAX_LISTING_ENTRIES:
            raise _over_cap(self.client, full, f"lists {len(entries)} entries", f"{MAX_LISTING_ENTRIES} entries")
        if entries and key_path.count("/") + 1 >= MAX_CRAWL_DEPTH:
            raise _over_cap(self.client, full, "goes deeper than any real metadata path", f"{MAX_CRAWL_DEPTH} levels")

    # ------------------------------------------------------------------ the result
    def place(self, full: str, value: Any) -> Any:
        """Put ``value`` at ``full`` and return what is there; a directory wins over a leaf of the same name."""
        parts = [part for part in full.split("/") if part]
        node = self.result.tree
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if not parts:
            return node
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
        return node[parts[-1]]

    def collect_seed_values(self, seeds: list) -> None:
        """Each directory seed's subtree (leaf seeds got theirs as they arrived)."""
        for kind, seed in seeds:
            if kind == _DIR and seed not in self.result.missing:
                self.result.values[seed] = subtree(self.result.tree, seed)


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
