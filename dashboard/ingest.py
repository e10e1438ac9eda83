"""Ingestion inside the server process: the one writer, the inbox that feeds it, and `etl load`
over the admin socket. What the writer commits reaches the live hub (dashboard/live)."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from flask import Flask, current_app

from dashboard.errors import DashboardError
from etl import backup
from etl.inbox import Inbox, archive_copy
from etl.loader import replay, status_report
from etl.writer import Commit, Writer

_EXTENSION = "thuocdo_writer"


def folders(checked, db_path: Path) -> dict[str, Path]:
    """Inbox, archive, rejected, spool and backup folders: the settings, or beside the database."""
    base = Path(db_path).resolve().parent
    archive = Path(checked["ARCHIVE_DIR"] or base / "archive")
    return {"inbox": Path(checked["INBOX_DIR"] or base / "inbox"), "archive": archive,
            "rejected": Path(checked["REJECTED_DIR"] or base / "rejected"), "spool": archive / ".spool",
            "backups": Path(checked["BACKUP_DIR"] or backup.default_folder(db_path))}


def _check_writable(folders: list[Path], db_path: Path) -> None:
    """Refuse to start, with a message, when the ingestion folders cannot be written (a
    read-only disk or folder): every arrival would fail, and the writer would die at its first."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise DashboardError(f"cannot write {folder} (beside the database {db_path}): {exc.strerror or exc}; "
                                 "make the folder writable, or set INBOX_DIR / ARCHIVE_DIR / REJECTED_DIR "
                                 "to folders the server can write", 4) from None


def writer() -> Writer:
    return current_app.extensions[_EXTENSION]


def init_app(server: Flask) -> None:
    """Start the writer (on a cursor of its own) and, unless turned off, the inbox watcher."""
    checked = server.config["THUOCDO"]
    database = server.extensions["thuocdo_db"]
    where = folders(checked, database.path)
    hub = server.extensions["thuocdo_live"]
    _check_writable([where["spool"], where["archive"], where["backups"]] + ([where["inbox"], where["rejected"]] if checked["INBOX"] else []),
                    database.path)
    lake = None
    if checked["LAKE_DIR"]:  # docs/scale-out.md: committed facts also go to the lake
        from etl.lake import LakeAppender
        lake = LakeAppender(Path(checked["LAKE_DIR"]), checked["LAKE_SOURCE"])
    w = Writer(database.cursor(), where["spool"], where["archive"], batch_seconds=checked["INGEST_BATCH_MS"] / 1000,
               idle_seconds=checked["IDLE_MAINTENANCE_SECONDS"], lake=lake)

    def tell_hub(commit: Commit) -> None:
        hub.apply(commit.version, commit.touched, commit.new_ratings, commit.kinds)

    w.on_commit(tell_hub)
    w.start()
    server.extensions[_EXTENSION] = w
    if checked["INBOX"]:
        server.extensions["thuocdo_inbox"] = Inbox(w, where["inbox"], where["archive"], where["rejected"],
                                                   poll_seconds=min(0.5, checked["INGEST_BATCH_MS"] / 1000)).start()


def load_command(w: Writer, archive: Path):
    """The admin socket's `load`: the files `python -m etl load` was given, loaded by the writer;
    the output is the ledger entries as JSON, which the CLI prints as it does offline."""
    def run_load(_cur, req: dict) -> tuple[str, int]:
        paths = req.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise DashboardError("load: give a list of file paths")
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:  # the server may run as another user or in another folder than the CLI
            raise DashboardError(f"the server cannot read: {', '.join(missing)}; give paths it can read", 4)
        # The server's connection reads files only from its ingestion folders (dashboard/db.py,
        # lock_down): each file is loaded from a copy in the spool, kept in the archive if loaded.
        staging = Path(tempfile.mkdtemp(prefix="load-", dir=w.spool_dir))
        try:
            copies = []
            for n, path in enumerate(paths):
                copies.append(staging / str(n) / Path(path).name)  # a folder each: names may repeat
                copies[-1].parent.mkdir()
                shutil.copy2(path, copies[-1])
            entries = w.load_files(copies)
            for copy, entry in zip(copies, entries):
                if entry["status"] in ("loaded", "partial"):
                    archive_copy(copy, archive)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return json.dumps(entries, ensure_ascii=False, default=str), 0
    return run_load


def etl_commands(w: Writer, where: dict[str, Path]) -> dict:
    """`python -m etl load | replay | status | backup` while the server runs, for its admin socket."""
    def run_replay(_cur, _req: dict) -> tuple[str, int]:
        return json.dumps(w.run(replay), ensure_ascii=False, default=str), 0

    def run_status(cur, _req: dict) -> tuple[str, int]:
        return json.dumps(status_report(cur), ensure_ascii=False, default=str), 0

    def run_stats(_cur, _req: dict) -> tuple[str, int]:
        return json.dumps(w.stats()), 0

    def run_backup(cur, _req: dict) -> tuple[str, int]:
        # A read transaction on the command's own cursor: the writer goes on loading meanwhile.
        return json.dumps(backup.take(cur, where["backups"]), default=str), 0

    return {"load": load_command(w, where["archive"]), "replay": run_replay, "status": run_status,
            "stats": run_stats, "backup": run_backup}
