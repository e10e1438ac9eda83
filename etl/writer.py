"""The one writer of the server process: everything that arrives is loaded here, in micro-batches.

DuckDB allows one writing process, and within it one writer keeps loads from racing each
other. Sources (the inbox folder, `etl load` over the admin socket, the HTTP API) hand their
arrivals to `Writer`; its thread wakes at least every `batch_seconds`, takes everything that
has queued up, and loads it. A quiet server loads an arrival at once; under a stream, drains
start at most every `batch_seconds`, so arrivals gather into batches whose fixed cost (a
commit, the rollup statements) is paid once per window instead of once per record:
- files, each in its own transaction (the loader's accounting is per file);
- API records, first written durably as one contract file per kind (`<kind>_api_….jsonl` in
  the spool folder, fsynced), then loaded by the same code path as any file and moved to the
  archive: one commit for all the records of a kind that arrived in the window, the ledger
  accounts for them like a file, and replaying the archive rebuilds the same data. A file left
  in the spool by a crash is loaded when the writer starts again (a record already loaded is a
  duplicate, so nothing is counted twice).
After each commit the listeners hear which unit subtrees moved (`Commit`). Compaction and
checkpoints run only when nothing has arrived for `idle_seconds`, never in an arrival's path.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from etl import clustering
from etl.errors import as_storage_error
from etl.kinds import KINDS
from etl.loader import KIND_ORDER, LoadDetails, load_file

log = logging.getLogger("thuocdo.writer")


# API records of a batch load in this order, each kind answered as soon as it has committed:
# citizens' ratings first (a tap is what a screen waits for), then the references a fact may
# name, then the other facts.
_RECORDS_FIRST = ("ratings",) + tuple(k for k in KIND_ORDER if k != "ratings")


@dataclass(frozen=True)
class Commit:
    """What one load changed: the data version after it, and the units whose subtree figures
    moved (None: any may have, e.g. a units file)."""
    version: int
    touched: frozenset[str] | None
    kinds: tuple[str, ...]
    new_ratings: tuple[tuple, ...] = ()  # etl.loader.FEED_COLUMNS, oldest first


@dataclass
class RecordResult:
    """One API record's outcome: `loaded`, `duplicate`, `stale`, or a quarantine reason."""
    result: str
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.result in ("loaded", "duplicate", "stale")


@dataclass
class _Arrival:
    """One source's hand-over; the source waits on `done`."""
    files: list[Path] = field(default_factory=list)
    kind: str | None = None
    records: list[dict] = field(default_factory=list)
    call: Callable | None = None      # other writes (a replay): run with the writer's connection
    value: object = None
    done: threading.Event = field(default_factory=threading.Event)
    entries: list[dict] = field(default_factory=list)
    results: list[RecordResult] = field(default_factory=list)
    batch_id: int | None = None
    error: BaseException | None = None

    def wait(self, timeout: float | None) -> "_Arrival":
        if not self.done.wait(timeout):
            raise TimeoutError("the writer did not finish in time; the data is queued and will still be loaded")
        if self.error is not None:
            raise self.error
        return self


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Write records as a contract .jsonl file, durably: the file and its folder entry are
    fsynced before the name appears (written under a temporary name, then renamed)."""
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        _write_lines(tmp, records)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk: no half-written batch left behind
        raise
    os.replace(tmp, path)
    fsync_path(path.parent)


def _write_lines(tmp: Path, records: list[dict]) -> None:
    # A lone UTF-16 surrogate ("\ud800" in the JSON sent) cannot be encoded as UTF-8: it is
    # written as the escape it came in, and the reader quarantines that line as malformed
    # (one record's reason), instead of the write failing every batch of the writer's window.
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())


def fsync_path(path: Path) -> None:
    """A file's content, or a folder's entries (a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Writer:
    """A daemon thread that owns every write of arriving data (see the module docstring)."""

    def __init__(self, conn, spool_dir: Path, archive_dir: Path, *, batch_seconds: float = 0.5,
                 idle_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic, lake=None):
        self.conn = conn  # a cursor of the server's connection, used by this thread only
        self.lake = lake  # an etl.lake.LakeAppender (LAKE_DIR): committed facts go there too
        self.spool_dir, self.archive_dir = Path(spool_dir), Path(archive_dir)
        self.batch_seconds, self.idle_seconds, self.clock = batch_seconds, idle_seconds, clock
        self._queue: queue.Queue[_Arrival | None] = queue.Queue()
        self._listeners: list[Callable[[Commit], None]] = []
        self._thread: threading.Thread | None = None
        self._seq = itertools.count(1)
        self._last_arrival = self._last_drain = clock()
        self._idle_work_done = True
        self._storage_logged = float("-inf")  # when a full/read-only disk was last logged
        self.batches = 0          # micro-batches drained, for the data page and benchmarks
        self.cpu_seconds = 0.0    # CPU the writer's thread spent draining them
        # Wall seconds by phase (what an acknowledgement waits for, beyond the CPU above).
        self.phase_seconds = dict.fromkeys(("drain", "spool", "load", "notify", "lake", "archive"), 0.0)

    # --- what sources call -----------------------------------------------------------

    def on_commit(self, listener: Callable[[Commit], None]) -> None:
        self._listeners.append(listener)

    def load_files(self, paths, timeout: float | None = None) -> list[dict]:
        """Load files (in the writer, in order); their ledger entries, once committed."""
        return self._submit(_Arrival(files=[Path(p).resolve() for p in paths])).wait(timeout).entries

    def submit_records(self, kind: str, records: list[dict], timeout: float | None = None) -> tuple[int | None, list[RecordResult]]:
        """Load contract records of one kind; (batch id, one result per record), once committed."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        arrival = self._submit(_Arrival(kind=kind, records=list(records))).wait(timeout)
        return arrival.batch_id, arrival.results

    def run(self, write: Callable, timeout: float | None = None):
        """`write(conn)` in the writer's thread, between arrivals (e.g. a replay); its value.
        Whatever it committed counts as a change of everything for the live pages."""
        return self._submit(_Arrival(call=write)).wait(timeout).value

    def _submit(self, arrival: _Arrival) -> _Arrival:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the writer is not running")
        self._queue.put(arrival)
        return arrival

    # --- the thread ------------------------------------------------------------------

    def start(self) -> "Writer":
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        leftovers = sorted(p for p in self.spool_dir.iterdir() if p.suffix == ".jsonl" and not p.name.startswith("."))
        if leftovers:  # written but not (known to be) loaded when the server stopped
            log.warning("loading %d API batch file(s) left in %s", len(leftovers), self.spool_dir)
            for path in leftovers:
                self._load_one(path, LoadDetails(), archive=True)
        self._append_to_lake()  # what was committed before a crash and not yet in the lake
        self._thread = threading.Thread(target=self._run, name="thuocdo-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.batch_seconds)
            except queue.Empty:
                self._idle_work()
                continue
            pause = self._last_drain + self.batch_seconds - self.clock()
            if pause > 0 and first is not None:  # busy: let this window's arrivals gather
                time.sleep(pause)
            self._last_drain = self.clock()
            batch, stop = [first], first is None
            while True:  # take everything that has queued up: one micro-batch
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                stop = stop or item is None
                batch.append(item)
            arrivals = [a for a in batch if a is not None]
            if arrivals:
                self._last_arrival, self._idle_work_done = self.clock(), False
                self._drain(arrivals)
            if stop:
                return

    def _drain(self, arrivals: list[_Arrival]) -> None:
        started, wall = time.thread_time(), time.perf_counter()
        try:
            self._drain_all(arrivals)
            self._append_to_lake()  # after every answer: a lake never delays an acknowledgement
        finally:
            self.batches += 1
            self.cpu_seconds += time.thread_time() - started
            self.phase_seconds["drain"] += time.perf_counter() - wall

    @contextmanager
    def _phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phase_seconds[name] += time.perf_counter() - started

    def stats(self) -> dict:
        return {"batches": self.batches, "cpu_seconds": round(self.cpu_seconds, 3), "queued": self._queue.qsize(),
                "phase_seconds": {k: round(v, 3) for k, v in self.phase_seconds.items()}}

    def _drain_all(self, arrivals: list[_Arrival]) -> None:
        for arrival in arrivals:
            if arrival.call is not None:
                try:
                    arrival.value = arrival.call(self.conn)
                    self._notify(Commit(self._version(), None, ()))
                except BaseException as exc:
                    arrival.error = self._failed(exc, "a write in the writer failed")
                arrival.done.set()
            if arrival.files:
                try:
                    for path in arrival.files:
                        arrival.entries.append(self._load_one(path, LoadDetails()))
                except BaseException as exc:  # the source shows it; the writer keeps going
                    arrival.error = self._failed(exc, f"loading {arrival.files} failed")
                arrival.done.set()
        by_kind: dict[str, list[_Arrival]] = {}
        for arrival in arrivals:
            if arrival.kind:
                by_kind.setdefault(arrival.kind, []).append(arrival)
        for kind in sorted(by_kind, key=_RECORDS_FIRST.index):
            group = by_kind[kind]
            try:
                self._load_records(kind, group)
            except BaseException as exc:
                error = self._failed(exc, f"loading {len(group)} {kind} record batch(es) failed")
                for arrival in group:
                    arrival.error = error
            for arrival in group:
                arrival.done.set()

    def _failed(self, exc: BaseException, what: str) -> BaseException:
        """The error to hand back for a failed write. A full or read-only disk is an expected
        condition, not a bug: one line in the log a minute while it lasts, not a traceback a batch."""
        storage = as_storage_error(exc)
        if storage is None:
            log.error(what, exc_info=exc)
            return exc
        if self.clock() - self._storage_logged >= 60:
            self._storage_logged = self.clock()
            log.error("%s: %s", what, storage)
        return storage

    def _load_records(self, kind: str, group: list[_Arrival]) -> None:
        records = [r for arrival in group for r in arrival.records]
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        path = self.spool_dir / f"{kind}_api_{stamp}_{os.getpid()}_{next(self._seq)}.jsonl"
        with self._phase("spool"):
            write_jsonl(path, records)
        details = LoadDetails()
        entry = self._load_one(path, details, archive=True)
        lines = details.lines
        if entry["status"] == "already_loaded":  # the same records, byte for byte, as an earlier batch:
            lines = {line: (reason, detail) for line, reason, detail in self.conn.execute(
                "SELECT line, reason, detail FROM quarantine WHERE batch_id = ? AND line IS NOT NULL",
                [entry["duplicate_of"]]).fetchall()}  # what it quarantined is quarantined, the rest is there
        line = 1
        for arrival in group:
            arrival.batch_id = entry["batch_id"]
            for _ in arrival.records:
                default = ("duplicate", None) if entry["status"] == "already_loaded" else ("not_loaded", None)
                result, detail = lines.get(line, default)
                arrival.results.append(RecordResult(result, detail))
                line += 1

    def _load_one(self, path: Path, details: LoadDetails, archive: bool = False) -> dict:
        with self._phase("load"):
            entry = load_file(self.conn, path, details)
        if entry.get("loaded"):  # first: the pages wait for this, the file's move can wait
            with self._phase("notify"):
                self._notify(Commit(self._version(), None if details.touched is None else frozenset(details.touched),
                                    (entry["kind"],), tuple(details.new_ratings)))
        if archive:
            with self._phase("archive"):
                self._archive(path)
        return entry

    def _append_to_lake(self) -> None:
        """After a micro-batch's commits, once every source has its answer: their facts into the
        lake, in one file per kind and month. A failure is logged, never raised: the lake catches
        up from its state file after the next commit (or at start, after a crash)."""
        if self.lake is None:
            return
        with self._phase("lake"):
            try:
                self.lake.after_commit(self.conn)
            except Exception:
                log.exception("appending to the lake failed; the next commit tries again")

    def _version(self) -> int:
        return self.conn.execute("SELECT max(version) FROM data_version").fetchone()[0]

    def _notify(self, commit: Commit) -> None:
        for listener in self._listeners:
            try:
                listener(commit)
            except Exception:  # a listener's fault must not stop ingestion
                log.exception("a commit listener failed")

    def _archive(self, path: Path) -> None:
        """API batch files go to archive/api/<day>/ once loaded (kept: replaying them rebuilds the data)."""
        target = self.archive_dir / "api" / dt.date.today().isoformat()
        target.mkdir(parents=True, exist_ok=True)
        os.replace(path, target / path.name)

    def _idle_work(self) -> None:
        """Compaction and a checkpoint once arrivals have paused for idle_seconds."""
        if self._idle_work_done or self.clock() - self._last_arrival < self.idle_seconds:
            return
        self._idle_work_done = True
        try:
            started = time.perf_counter()
            done = clustering.compact(self.conn)
            self.conn.execute("CHECKPOINT")
            log.info("idle maintenance: compacted %s, checkpointed (%.1f s)",
                     [d["table"] for d in done] or "nothing", time.perf_counter() - started)
        except Exception:
            log.exception("idle maintenance failed; it is tried again after the next arrivals")
