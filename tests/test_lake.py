"""The lake of facts (etl/lake.py): `etl lake export`, and the server writer's appends after each
commit. Read back with DuckDB, the lake's latest versions equal the database's facts; no reader
ever sees a partial file, and an append that fails is caught up by the next commit."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from etl import lake as lakes
from etl.db import connect
from etl.lake import FACTS, LakeAppender, lake_files, latest_sql
from etl.writer import Writer
from etl_helpers import run_cli

VECTORS = Path(__file__).parent / "vectors"
LOAD_ORDER = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))["load_order"]


def _lake_equals_db(conn, lake: Path) -> None:
    """Every fact kind's latest versions in the lake are the database's rows; the snapshots too."""
    for kind in (*FACTS, *lakes.SNAPSHOTS):
        cols = ", ".join(lakes.columns(kind))
        files = [str(p) for p in lake_files(lake, kind)]
        if not files:  # nothing of this kind committed yet
            assert conn.execute(f"SELECT count(*) FROM {kind}").fetchone()[0] == 0, kind
            continue
        conn.execute(f"CREATE OR REPLACE TEMP TABLE lake_rows AS SELECT {cols} FROM read_parquet(?)", [files])
        source = latest_sql(kind, "lake_rows") if kind in FACTS else "SELECT * FROM lake_rows"
        got = sorted(conn.execute(source).fetchall(), key=repr)
        want = sorted(conn.execute(f"SELECT {cols} FROM {kind}").fetchall(), key=repr)
        assert got == want, kind


def _no_partial_files(lake: Path) -> list[Path]:
    """Names a reader would take (not starting with '.' or '_') that are not finished Parquet."""
    return [p for p in lake.rglob("*") if p.is_file() and not any(part.startswith((".", "_")) for part in
                                                                  p.relative_to(lake).parts)
            and p.suffix != ".parquet"]


def test_export_cli_writes_partitions_and_replaces_them(tmp_path):
    db, lake = tmp_path / "v.duckdb", tmp_path / "lake"
    for name in LOAD_ORDER:
        run_cli("etl", "load", VECTORS / name, "--db", db)
    for _ in range(2):  # the second export replaces the first, partition by partition
        out = json.loads(run_cli("etl", "lake", "export", "--db", db, "--lake", lake, "--source", "HN",
                                 check_codes=(0,)).stdout)
    assert out["rows"]["tasks"] > 0 and out["rows_per_second"] > 0
    months = sorted(p.name for p in (lake / "tasks").iterdir())
    assert months and all(m.startswith("period=") for m in months)
    for kind in FACTS:
        for part in (lake / kind).iterdir():
            assert len(list(part.glob("HN-*.parquet"))) == 1, part  # the older export's file went away
    assert not list(lake.glob(".export-*")) and not _no_partial_files(lake)
    assert json.loads((lake / "_state" / "HN.json").read_text())["batch_id"] == out["batch_id"]
    conn = connect(db)
    try:
        _lake_equals_db(conn, lake)
    finally:
        conn.close()
    bad = run_cli("etl", "lake", "export", "--db", db, "--lake", lake, "--source", "../x", check_codes=(2,))
    assert "lake source" in bad.stderr


def _settled(writer: Writer) -> None:
    """Wait until the writer's drain that answered the last load has also appended to the lake
    (it appends after answering): a no-op write queued behind it."""
    writer.run(lambda _conn: None, timeout=60)


def test_writer_appends_each_commit_and_catches_up_after_a_failure(tmp_path, monkeypatch):
    db, lake = tmp_path / "w.duckdb", tmp_path / "lake"
    conn = connect(db)
    writer = Writer(conn.cursor(), tmp_path / "spool", tmp_path / "archive", batch_seconds=0.05,
                    lake=LakeAppender(lake, "HN")).start()
    try:
        first, rest = LOAD_ORDER[:4], LOAD_ORDER[4:]
        writer.load_files([VECTORS / n for n in first], timeout=120)
        _settled(writer)
        _lake_equals_db(conn.cursor(), lake)
        state = json.loads((lake / "_state" / "HN.json").read_text())

        # The next commit's files fail at their rename (a full disk, a crash): nothing half-written
        # becomes visible, the state stays, and ingestion goes on.
        real_replace = os.replace
        failed = []

        def failing_replace(src, dst):
            if str(dst).endswith(".parquet") and not failed:
                failed.append(dst)
                raise OSError(28, "No space left on device")
            return real_replace(src, dst)

        monkeypatch.setattr(lakes.os, "replace", failing_replace)
        entries = writer.load_files([VECTORS / rest[0]], timeout=120)
        _settled(writer)
        assert entries[0]["loaded"] > 0 and failed
        assert json.loads((lake / "_state" / "HN.json").read_text()) == state
        assert not Path(failed[0]).exists() and not _no_partial_files(lake)
        monkeypatch.setattr(lakes.os, "replace", real_replace)

        writer.load_files([VECTORS / n for n in rest[1:]], timeout=120)  # catches the failed batch up too
        _settled(writer)
        _lake_equals_db(conn.cursor(), lake)
        assert writer.stats()["phase_seconds"]["lake"] > 0
        # tasks_update.jsonl corrected tasks of tasks_main.csv: both versions are in the lake
        versions = conn.execute("SELECT count(*) FROM read_parquet(?)",
                                [[str(p) for p in lake_files(lake, "tasks")]]).fetchone()[0]
        assert versions > conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        writer.stop()
        conn.close()


def test_lake_source_names_are_checked(tmp_path):
    with pytest.raises(Exception, match="lake source"):
        LakeAppender(tmp_path / "lake", "a/b")


def test_running_server_appends_to_the_lake(tmp_path):
    """LAKE_DIR in the real server: its locked connection may write there, and `etl load` handed
    to it over the admin socket ends up in the lake."""
    import time

    from conftest import start_server, stop_server

    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    run_cli("etl", "init", "--db", db, check_codes=(0,))
    srv = start_server(db, tmp_path / "server.log", env={"THUOCDO_LAKE_DIR": str(lake), "THUOCDO_LAKE_SOURCE": "HN"})
    try:
        for name in LOAD_ORDER:
            run_cli("etl", "load", VECTORS / name, "--db", db)
        state = lake / "_state" / "HN.json"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (state.exists() and json.loads(state.read_text())["batch_id"]
                                                    >= len(LOAD_ORDER)):
            time.sleep(0.2)
    finally:
        stop_server(srv)
    assert "appending to the lake failed" not in srv.log()
    conn = connect(db)
    try:
        _lake_equals_db(conn, lake)
    finally:
        conn.close()
