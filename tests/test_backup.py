"""`python -m etl backup` / `restore` while the real server runs and loads.

A backup taken in the middle of a stream of API batches must be one consistent moment: the
restored facts and the restored rollups agree (a full rebuild of the rollups changes no KPI).
A backup taken once the stream has stopped must restore to exactly the server's data.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys

import duckdb
import pytest

from conftest import REPO, kpis_cli, start_server, stop_server
from test_durability import Producer, base  # noqa: F401  (the fixture: demo copy + a system device)
from dashboard.metrics.kpis import unit_kpis
from etl.rollups import rebuild_all


def etl(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def backup_path(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0, out.stderr
    return out.stdout.split(":")[0]


def root_and_periods(db) -> tuple[str, list[str]]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        root = conn.execute("SELECT unit_id FROM units WHERE parent_id IS NULL").fetchone()[0]
        periods = [p for (p,) in conn.execute(
            "SELECT DISTINCT strftime(rated_at, '%Y-%m') p FROM ratings ORDER BY p DESC LIMIT 3").fetchall()]
    finally:
        conn.close()
    return root, periods


def test_backup_while_loading_restores_a_consistent_moment_and_a_quiet_one_exactly(base, tmp_path):  # noqa: F811
    db = tmp_path / "live.duckdb"
    shutil.copy(base["db"], db)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "staging").mkdir()
    server = start_server(db, tmp_path / "server.log")
    producer = Producer("bk", server.base_url, base["token"], base["officials"], tmp_path / "inbox",
                        tmp_path / "staging", random.Random(7))
    try:
        producer.start()
        during = backup_path(etl("backup", "--db", db))       # the server takes it, loads going on
        producer.halt.set()
        producer.join(60)
        acked = {r["rating_id"] for b in producer.batches if b.acked for r in b.records}
        assert acked, "the stream posted nothing while the backup ran"
        quiet = backup_path(etl("backup", "--db", db))
        busy = etl("restore", quiet, "--db", db)              # never over a live (or any) file
        assert busy.returncode != 0 and "already exists" in busy.stderr
    finally:
        stop_server(server)

    root, periods = root_and_periods(db)
    restored_during, restored_quiet = tmp_path / "during.duckdb", tmp_path / "quiet.duckdb"
    for folder, target in ((during, restored_during), (quiet, restored_quiet)):
        out = etl("restore", folder, "--db", target)
        assert out.returncode == 0, out.stderr

    # The quiet backup is the server's data exactly: every table's rows, and the KPIs.
    original, copy = duckdb.connect(str(db), read_only=True), duckdb.connect(str(restored_quiet), read_only=True)
    try:
        for (table,) in original.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                         "AND table_name <> 'audit_log'").fetchall():  # it goes on logging
            assert original.execute(f'SELECT count(*) FROM "{table}"').fetchone() == \
                copy.execute(f'SELECT count(*) FROM "{table}"').fetchone(), table
        stored = {r for (r,) in copy.execute("SELECT rating_id FROM ratings WHERE rating_id LIKE 'bk-%'").fetchall()}
        assert acked <= stored, f"{len(acked - stored)} acknowledged ratings missing from the backup"
        # Sequences go on past the restored ids instead of handing them out again.
        last_batch = copy.execute("SELECT max(batch_id) FROM ingest_ledger").fetchone()[0]
    finally:
        original.close()
        copy.close()
    for period in periods:
        assert kpis_cli(restored_quiet, "--unit", root, "--period", period) == \
            kpis_cli(db, "--unit", root, "--period", period)
    conn = duckdb.connect(str(restored_quiet))
    try:
        assert conn.execute("SELECT nextval('ingest_batch_seq')").fetchone()[0] > last_batch
    finally:
        conn.close()

    # The backup taken under load is one moment: its rollups are those of its facts.
    conn = duckdb.connect(str(restored_during))
    try:
        before = {p: unit_kpis(conn.cursor(), root, p) for p in periods}
        rebuild_all(conn)
        after = {p: unit_kpis(conn.cursor(), root, p) for p in periods}
    finally:
        conn.close()
    assert json.dumps(before, sort_keys=True, default=str) == json.dumps(after, sort_keys=True, default=str)


def test_restore_refuses_a_partial_or_foreign_folder(tmp_path):
    (tmp_path / "thuocdo-x.partial").mkdir()
    out = etl("restore", tmp_path / "thuocdo-x.partial", "--db", tmp_path / "r.duckdb")
    assert out.returncode == 4 and "unfinished backup" in out.stderr
    out = etl("restore", tmp_path, "--db", tmp_path / "r.duckdb")
    assert out.returncode == 4 and "not a Thước đo backup" in out.stderr
    assert not (tmp_path / "r.duckdb").exists()


@pytest.mark.parametrize("name", ["o'brien", "thư mục"])
def test_a_backup_moved_elsewhere_still_restores(demo, tmp_path, name):
    db = tmp_path / "db.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    taken = backup_path(etl("backup", "--db", db, "--into", tmp_path / "b"))
    moved = tmp_path / name
    shutil.move(taken, moved)
    out = etl("restore", moved, "--db", tmp_path / "r.duckdb")
    assert out.returncode == 0, out.stderr
