"""The inbox folder: producers write a contract file elsewhere and rename it in; the server loads it.

A rename is atomic, so a file that appears under its final name is complete (names starting
with a dot or ending in .tmp/.part are still being written and are left alone). Each file is
handed to the writer; once its ledger entry is committed it moves to `archive/<day>/` (loaded,
partly quarantined, or loaded before), or to `rejected/` beside `<name>.reason.txt` saying why.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
from pathlib import Path

from etl.errors import as_storage_error
from etl.kinds import kind_of_file
from etl.loader import KIND_ORDER

log = logging.getLogger("thuocdo.inbox")
_IN_PROGRESS = (".tmp", ".part", ".partial", ".crdownload")


def waiting_files(inbox: Path) -> list[Path]:
    """Complete files in the inbox, in load order (kinds that others refer to first, then by age)."""
    def order(p: Path):
        kind = kind_of_file(p.name)
        return (KIND_ORDER.index(kind.name) if kind else len(KIND_ORDER), p.stat().st_mtime, p.name)

    found = []
    for p in inbox.iterdir():
        if p.name.startswith(".") or p.name.lower().endswith(_IN_PROGRESS) or not p.is_file():
            continue
        found.append(p)
    return sorted(found, key=order)


def _free_name(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `name` with a counter when a file of that name is there already."""
    target = folder / name
    stem, suffix, n = Path(name).stem, Path(name).suffix, 1
    while target.exists():
        target = folder / f"{stem}.{n}{suffix}"
        n += 1
    return target


_NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows)
_REASON = ".reason.txt"


def _reason_path(target: Path) -> Path:
    """NAME.reason.txt beside a rejected file; NAME cut when the whole would be too long a file
    name (it failed every sweep, and the file was loaded again every half second)."""
    room = _NAME_MAX - len(_REASON.encode())
    name = os.fsencode(target.name)[:room].decode("utf-8", "ignore") if len(os.fsencode(target.name)) > room \
        else target.name
    return target.with_name(name + _REASON)


def file_away(path: Path, entry: dict, archive: Path, rejected: Path) -> Path:
    """Move a loaded file to the archive, a rejected one to rejected/ with its reason; the new path."""
    if entry["status"] == "rejected":
        rejected.mkdir(parents=True, exist_ok=True)
        target = _free_name(rejected, path.name)
        reasons = ", ".join(f"{n} × {r}" for r, n in (entry.get("reasons") or {}).items())
        _reason_path(target).write_text(
            f"{entry.get('message') or 'rejected'}\n"
            f"batch {entry['batch_id']}: read {entry['rows_read']}, quarantined {entry['quarantined']}"
            + (f" ({reasons})" if reasons else "") + "\n"
            "Fix the file and put it in the inbox again; `python -m etl status` lists every batch.\n",
            encoding="utf-8")
    else:
        day = archive / dt.date.today().isoformat()
        day.mkdir(parents=True, exist_ok=True)
        target = _free_name(day, path.name)
    os.replace(path, target)
    return target


def archive_copy(path: Path, archive: Path) -> Path:
    """Keep a copy of a file loaded from elsewhere (`etl load` into the running server), so the
    archive holds everything the database was given."""
    day = archive / dt.date.today().isoformat()
    day.mkdir(parents=True, exist_ok=True)
    target = _free_name(day, path.name)
    shutil.copy2(path, target)
    return target


class Inbox:
    """A daemon thread that looks in the inbox every `poll_seconds` and hands files to the writer."""

    def __init__(self, writer, inbox: Path, archive: Path, rejected: Path, poll_seconds: float = 0.5):
        self.writer, self.inbox, self.archive, self.rejected = writer, Path(inbox), Path(archive), Path(rejected)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Inbox":
        for folder in (self.inbox, self.archive, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="thuocdo-inbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        delay = self.poll_seconds
        while not self._stop.wait(delay):
            try:
                self.sweep()
                delay = self.poll_seconds
            except Exception as exc:  # a full disk or a vanished folder: say so, try again later
                storage = as_storage_error(exc)
                if storage is None:
                    log.exception("inbox sweep failed")
                elif delay == self.poll_seconds:  # once per outage; the files wait in the inbox
                    log.error("inbox: %s; the files stay in the inbox and are tried again", storage)
                delay = min(max(delay * 2, 1.0), 30.0)  # back off while the fault lasts

    def sweep(self) -> list[dict]:
        """Load what is waiting now; the ledger entries."""
        entries = []
        for path in waiting_files(self.inbox):
            try:
                [entry] = self.writer.load_files([path])
            except FileNotFoundError:  # taken away by its producer meanwhile
                continue
            moved = file_away(path, entry, self.archive, self.rejected)
            log.info("inbox: %s %s (read %s, loaded %s, quarantined %s) -> %s", path.name, entry["status"],
                     entry["rows_read"], entry["loaded"], entry["quarantined"], moved.parent)
            entries.append(entry)
        return entries
