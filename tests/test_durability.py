"""Durability: kill -9 the real server at random points while ratings arrive through the inbox
and the HTTP API, restart it on the same files, and check with DuckDB directly that nothing
acknowledged was lost, nothing was counted twice, and no file was half loaded.

A few rounds run by default; `pytest -m long` (`make test-long`) runs 50. Each run writes
test-artifacts/reliability/durability.json (rounds run and held) for the reliability report.

Replaying the archive into an empty database is tested in tests/test_ingest.py
(test_replaying_the_archive_rebuilds_the_same_kpis); the read-only database below.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import requests

from conftest import ARTIFACTS, free_port_pair, run_dashboard, start_server, stop_server

DEFAULT_ROUNDS = 3
LONG_ROUNDS = 50
API_BATCH = 8          # records per API batch
FILE_ROWS = 12         # good rows per inbox file (plus one bad row, for the quarantine accounting)
CSV_HEAD = "rating_id,official_id,counter_id,procedure_code,rated_at,level,reason,comment\n"
REPORT = ARTIFACTS / "reliability" / "durability.json"


# --- the base database: the demo copy with a system device, made once -------------------------

@pytest.fixture(scope="module")
def base(demo, tmp_path_factory):
    """A copy of the demo database with a system device token, and officials to rate (~2 s)."""
    folder = tmp_path_factory.mktemp("durability")
    db = folder / "base.duckdb"
    shutil.copy(demo.path, db)
    out = run_dashboard("devices", "add", "durability-sys", "--db", db)
    assert out.returncode == 0, out.stderr
    token = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    conn = duckdb.connect(str(db), read_only=True)
    try:
        officials = [r[0] for r in conn.execute(
            "SELECT official_id FROM officials WHERE active ORDER BY official_id LIMIT 20").fetchall()]
    finally:
        conn.close()
    return {"db": db, "token": token, "officials": officials}


# --- one round ------------------------------------------------------------------------------

@dataclass
class Batch:
    records: list[dict]
    status: int | None = None          # the HTTP status, None when no answer came
    results: list[dict] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def ids(self) -> list[str]:
        return [r["rating_id"] for r in self.records]


@dataclass
class DroppedFile:
    name: str
    good: list[str]                    # rating ids that must load
    bad: list[str]                     # rating ids that must be quarantined


class Producer:
    """Posts API batches of new ratings (three devices at once) and renames contract files into
    the inbox until told to stop or the server dies; remembers what was acknowledged."""

    API_LANES = 3

    def __init__(self, tag: str, base_url: str, token: str, officials: list[str], inbox: Path, staging: Path,
                 rng: random.Random):
        self.tag, self.base_url, self.token, self.officials = tag, base_url, token, officials
        self.inbox, self.staging, self.rng = inbox, staging, rng
        self.batches: list[Batch] = []
        self.files: list[DroppedFile] = []
        self.halt = threading.Event()
        self._seq = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._api_lane, daemon=True) for _ in range(self.API_LANES)]
        self._threads.append(threading.Thread(target=self._inbox_lane, daemon=True))

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def join(self, timeout: float) -> None:
        for t in self._threads:
            t.join(timeout)

    def is_alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _rating(self, level: int | None = None) -> dict:
        with self._lock:
            self._seq += 1
            seq, official = self._seq, self.rng.choice(self.officials)
            level = level or self.rng.randint(1, 4)
        return {"rating_id": f"{self.tag}-{seq}", "official_id": official, "counter_id": "Q1",
                "rated_at": f"2026-10-{1 + seq % 28:02d}T09:{seq % 60:02d}:00+07:00", "level": level}

    def post(self, batch: Batch) -> None:
        try:
            r = requests.post(f"{self.base_url}/api/v1/ratings", json=batch.records, timeout=20,
                              headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException:
            return                      # no answer: not acknowledged
        batch.status = r.status_code
        if batch.acked:
            batch.results = r.json()["results"]

    def drop_file(self) -> None:
        good = [self._rating() for _ in range(FILE_ROWS)]
        bad = self._rating(level=9)     # quarantined: level_out_of_range
        rows = good[:FILE_ROWS // 2] + [bad] + good[FILE_ROWS // 2:]
        with self._lock:
            name = f"ratings_{self.tag}_{len(self.files)}.csv"
            self.files.append(DroppedFile(name, [r["rating_id"] for r in good], [bad["rating_id"]]))
        tmp = self.staging / name
        tmp.write_text(CSV_HEAD + "".join(
            f"{r['rating_id']},{r['official_id']},{r['counter_id']},,{r['rated_at']},{r['level']},,\n"
            for r in rows), encoding="utf-8")
        os.replace(tmp, self.inbox / name)   # written elsewhere, renamed in

    def _api_lane(self) -> None:
        while not self.halt.is_set():
            batch = Batch([self._rating() for _ in range(API_BATCH)])
            with self._lock:
                self.batches.append(batch)
            self.post(batch)
            if batch.status is None:    # the server is gone
                return

    def _inbox_lane(self) -> None:
        while not self.halt.wait(self.rng.uniform(0.05, 0.4)):
            self.drop_file()


def _waiting(folder: Path, suffixes=(".csv", ".jsonl")) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.suffix in suffixes] \
        if folder.exists() else []


def _drain(inbox: Path, spool: Path, timeout: float = 60) -> None:
    """Wait until the restarted server has loaded everything in the inbox and the spool."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if _waiting(inbox) or _waiting(spool):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.6:
            return
        time.sleep(0.1)
    raise AssertionError(f"not drained: inbox {_waiting(inbox)}, spool {_waiting(spool)}")


def one_round(base: dict, folder: Path, rng: random.Random, tag: str) -> dict:
    """Load, kill -9, restart, resend, check. Returns what the round saw; raises when it did not hold."""
    folder.mkdir(parents=True)
    db = folder / "db.duckdb"
    shutil.copy(base["db"], db)
    inbox, staging, spool = folder / "inbox", folder / "staging", folder / "archive" / ".spool"
    inbox.mkdir()
    staging.mkdir()
    log = folder / "server.log"
    port = free_port_pair()
    srv = start_server(db, log, port=port)
    producer = Producer(tag, srv.base_url, base["token"], base["officials"], inbox, staging, rng)
    producer.start()
    delay = rng.uniform(0.2, 3.0)
    time.sleep(delay)
    srv.proc.kill()                     # SIGKILL: no handler, no writer.stop(), no checkpoint
    srv.proc.wait()
    producer.halt.set()
    producer.join(30)
    assert not producer.is_alive()

    srv = start_server(db, log, port=port)
    try:
        _drain(inbox, spool)
        # The device resends what was not acknowledged: every record is loaded or a duplicate.
        resent = [b for b in producer.batches if not b.acked]
        resent_duplicates = 0
        for batch in resent:
            again = Batch(batch.records)
            producer.post(again)
            assert again.acked, (again.status, batch.ids)
            assert {r["result"] for r in again.results} <= {"loaded", "duplicate"}, again.results
            resent_duplicates += sum(r["result"] == "duplicate" for r in again.results)
        _drain(inbox, spool)
    finally:
        stop_server(srv)
    assert srv.proc.returncode == 0, log.read_text()[-3000:]

    acked = [b for b in producer.batches if b.acked]
    for batch in acked:
        assert [r["result"] for r in batch.results] == ["loaded"] * len(batch.records), batch.results
    all_api = [i for b in producer.batches for i in b.ids]
    conn = duckdb.connect(str(db))      # (a) the database opens (read-write: the WAL is replayed)
    try:
        counts = dict(conn.execute("SELECT rating_id, count(*) FROM ratings WHERE rating_id LIKE ? "
                                   "GROUP BY rating_id", [f"{tag}-%"]).fetchall())
        # (c) nothing twice
        assert not {i: n for i, n in counts.items() if n != 1}, "a rating counted twice"
        # (b) acknowledged is committed; and after the resend, every API record is there once
        missing_acked = [i for b in acked for i in b.ids if counts.get(i) != 1]
        assert not missing_acked, f"acknowledged but missing: {missing_acked[:10]}"
        assert all(counts.get(i) == 1 for i in all_api)
        # (d) every inbox file loaded whole, exactly once: one loaded/partial ledger entry that
        # loaded all its good rows (a half-loaded file retried would show duplicates), the bad
        # row quarantined, the file archived
        for f in producer.files:
            assert all(counts.get(i) == 1 for i in f.good), f"{f.name}: rows missing"
            assert not any(counts.get(i) for i in f.bad), f"{f.name}: a bad row loaded"
            entries = conn.execute("SELECT status, rows_read, loaded, duplicates, quarantined FROM ingest_ledger "
                                   "WHERE file = ? ORDER BY batch_id", [f.name]).fetchall()
            done = [e for e in entries if e[0] in ("loaded", "partial")]
            assert done == [("partial", FILE_ROWS + 1, FILE_ROWS, 0, 1)], (f.name, entries)
            assert {e[0] for e in entries} <= {"partial", "already_loaded", "running"}, (f.name, entries)
            assert list((folder / "archive").rglob(f.name)), f"{f.name} not archived"
        # (e) the ledger's accounting holds for every batch, and the quarantine agrees with it
        broken = conn.execute(
            "SELECT l.batch_id, l.file, l.status, l.rows_read, l.loaded, l.duplicates, l.quarantined, "
            "(SELECT count(*) FROM quarantine q WHERE q.batch_id = l.batch_id) AS kept FROM ingest_ledger l "
            "WHERE l.status IN ('loaded', 'partial') AND (l.rows_read <> l.loaded + l.duplicates + l.quarantined "
            "OR l.quarantined <> (SELECT count(*) FROM quarantine q WHERE q.batch_id = l.batch_id))").fetchall()
        assert not broken, broken
        stray = conn.execute("SELECT count(*) FROM ingest_ledger WHERE status = 'running'").fetchone()[0]
    finally:
        conn.close()
    return {"kill_after_s": round(delay, 2), "api_batches": len(producer.batches), "acked": len(acked),
            "resent": len(resent),
            "resent_records_already_committed": resent_duplicates, "inbox_files": len(producer.files), "stray_running_ledger_rows": stray}


def _record(mode: str, rounds: list[dict], failures: list[str], seconds: float) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        previous = {}
    run = {
        "mode": mode,
        "command": ".venv/bin/python -m pytest tests/test_durability.py" + (" -m long" if mode == "long" else ""),
        "rounds": len(rounds) + len(failures), "held": len(rounds), "failures": failures,
        "seconds": round(seconds, 1),
        "api_batches": sum(r["api_batches"] for r in rounds), "api_batches_acked": sum(r["acked"] for r in rounds),
        "api_batches_resent": sum(r["resent"] for r in rounds),
        "resent_records_already_committed": sum(r["resent_records_already_committed"] for r in rounds),
        "inbox_files": sum(r["inbox_files"] for r in rounds),
        "stray_running_ledger_rows": sum(r["stray_running_ledger_rows"] for r in rounds),
        "kill_after_s": [r["kill_after_s"] for r in rounds],
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    by_mode = {**previous.get("by_mode", {}), mode: run}
    REPORT.write_text(json.dumps({
        "class": "kill -9 during loads",
        "what": "SIGKILL of `python -m dashboard serve` at a random moment (0.2-3 s) while API rating batches "
                "and inbox files arrive; restart on the same files; checks: the database opens, every "
                "acknowledged rating is present exactly once, nothing is duplicated, every inbox file is "
                "loaded whole exactly once, rows_read = loaded + duplicates + quarantined for every batch, "
                "unacknowledged batches resent give loaded/duplicate only",
        **{k: run[k] for k in ("mode", "command", "rounds", "held")},
        "by_mode": by_mode,
    }, indent=2, ensure_ascii=False) + "\n")


def _seed() -> int:
    """THUOCDO_DURABILITY_SEED repeats a run; otherwise each run kills at new moments."""
    return int(os.environ.get("THUOCDO_DURABILITY_SEED") or time.time_ns() % 1_000_000)


def _kill_rounds(base, tmp_path, n: int, mode: str, seed: int) -> None:
    rng = random.Random(seed)
    rounds, failures = [], []
    started = time.monotonic()
    for i in range(n):
        try:
            rounds.append(one_round(base, tmp_path / f"round{i}", rng, f"K{seed}R{i}"))
        except Exception as exc:  # keep going: the report says how many held
            failures.append(f"round {i} (seed {seed}): {type(exc).__name__}: {str(exc)[:500]}")
    _record(mode, rounds, failures, time.monotonic() - started)
    assert not failures, "\n".join(failures)


def test_kill_9_during_loads_loses_and_doubles_nothing(base, tmp_path):
    """A few rounds in the default run (~10 s each)."""
    _kill_rounds(base, tmp_path, DEFAULT_ROUNDS, "default", seed=_seed())


@pytest.mark.long
def test_kill_9_during_loads_50_rounds(base, tmp_path):
    """`make test-long`: 50 rounds (~10 minutes)."""
    _kill_rounds(base, tmp_path, LONG_ROUNDS, "long", seed=_seed())


# --- the pages' connection is locked down ----------------------------------------------------

@pytest.fixture
def locked(demo, tmp_path):
    """The server's Database on a copy of the demo database, registered and locked down the way
    create_app does it once dashboard.db.LOCK_DOWN is on, with the writer on a cursor of the same
    connection and an inbox."""
    from flask import Flask

    from conftest import SECRET
    from dashboard import db as dbmod
    from dashboard import settings
    from dashboard.ingest import folders
    from etl.inbox import Inbox
    from etl.writer import Writer

    path = tmp_path / "data" / "locked.duckdb"
    path.parent.mkdir()
    shutil.copy(demo.path, path)
    server = Flask("locked-probe")
    server.config["THUOCDO"] = settings.load({"DB_PATH": str(path)}, environ={"THUOCDO_SECRET_KEY": SECRET})
    database = dbmod.Database(path)
    dbmod.init_app(server, database, lock_down=True)
    where = folders(server.config["THUOCDO"], path)
    w = Writer(database.cursor(), where["spool"], where["archive"], batch_seconds=0.05, idle_seconds=3600).start()
    inbox = Inbox(w, where["inbox"], where["archive"], where["rejected"])
    for folder in (inbox.inbox, inbox.archive, inbox.rejected):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        yield server, database, w, inbox
    finally:
        w.stop()
        database.close()


def test_page_cursor_cannot_read_files_attach_install_or_set(locked, tmp_path):
    from dashboard import db as dbmod

    server, database, _w, inbox = locked
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = duckdb.connect(str(elsewhere / "other.duckdb"))
    other.execute("CREATE TABLE secrets AS SELECT 'x' AS s")
    other.close()
    (elsewhere / "notes.csv").write_text("a,b\n1,2\n")
    backups = tmp_path / "data" / "backups"  # `etl backup` writes its snapshots there
    assert sorted(database.locked_to) == sorted(
        str(p.resolve()) + "/" for p in (inbox.inbox, inbox.archive, backups))
    attacks = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        f"SELECT * FROM read_csv('{elsewhere}/notes.csv')",
        f"SELECT * FROM read_csv('{inbox.inbox}/../../elsewhere/notes.csv')",  # out of an allowed folder
        f"SELECT * FROM read_parquet('{elsewhere}/x.parquet')",
        f"COPY (SELECT 1) TO '{elsewhere}/out.csv'",
        f"ATTACH '{elsewhere}/other.duckdb' AS o",
        "INSTALL httpfs",
        "LOAD httpfs",
        f"LOAD '{elsewhere}/evil.duckdb_extension'",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "SET threads = 1",
        "SET memory_limit = '100GB'",
        "PRAGMA threads = 1",
        "SET GLOBAL autoinstall_known_extensions = true",
    ]
    with server.app_context():
        cur = dbmod.cursor()
        assert cur.execute("SELECT count(*) FROM officials").fetchone()[0] > 0  # it still reads the database
        held = []
        for sql in attacks:
            try:
                cur.execute(sql).fetchall()
            except duckdb.Error as exc:
                held.append(sql)
                assert isinstance(exc, (duckdb.PermissionException, duckdb.InvalidInputException,
                                        duckdb.IOException, duckdb.CatalogException)), (sql, exc)
            else:
                pytest.fail(f"a page cursor ran: {sql}")
        settings = dict(cur.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                        "autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    assert not (elsewhere / "out.csv").exists()
    assert len(held) == len(attacks)


def test_the_locked_connection_still_loads_the_inbox(locked, demo):
    """CSV and Parquet are read by DuckDB itself (read_csv / read_parquet), JSON Lines through
    Python: all three load from the inbox through the locked connection; API records too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _server, database, w, inbox = locked
    (inbox.inbox / "ratings_locked.csv").write_text(
        CSV_HEAD + f"LOCK-1,{demo.official},Q1,,2026-10-05T08:00:00,3,,\n", encoding="utf-8")
    pq.write_table(pa.table({"rating_id": ["LOCK-2"], "official_id": [demo.official], "counter_id": ["Q1"],
                             "rated_at": ["2026-10-05T09:00:00"], "level": [4]}), inbox.inbox / "ratings_locked.parquet")
    (inbox.inbox / "ratings_locked.jsonl").write_text(json.dumps(
        {"rating_id": "LOCK-3", "official_id": demo.official, "counter_id": "Q1",
         "rated_at": "2026-10-05T10:00:00", "level": 2}) + "\n", encoding="utf-8")
    entries = inbox.sweep()
    assert sorted(e["status"] for e in entries) == ["loaded"] * 3, entries
    _, results = w.submit_records("ratings", [{"rating_id": "LOCK-4", "official_id": demo.official,
                                               "counter_id": "Q1", "rated_at": "2026-10-05T11:00:00", "level": 1}])
    assert [r.result for r in results] == ["loaded"]
    cur = database.cursor()
    try:
        assert cur.execute("SELECT count(*) FROM ratings WHERE rating_id LIKE 'LOCK-%'").fetchone()[0] == 4
    finally:
        cur.close()
    assert not any(inbox.inbox.iterdir())


def test_etl_load_into_a_locked_server_reads_files_from_anywhere(locked, demo, tmp_path):
    from dashboard.ingest import load_command

    _server, database, w, inbox = locked
    f = tmp_path / "ratings_from_home.csv"
    f.write_text(CSV_HEAD + f"HOME-1,{demo.official},Q1,,2026-10-06T08:00:00,4,,\n", encoding="utf-8")
    output, code = load_command(w, inbox.archive)(None, {"paths": [str(f)]})
    assert code == 0 and [e["status"] for e in json.loads(output)] == ["loaded"], output


# --- a database that cannot be written ------------------------------------------------------

def _make_read_only(path: Path) -> None:
    """chmod for a normal user; as root chmod stops nothing, so the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: a read-only file cannot be made (root writes through chmod)")
    out = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed ({out.stderr.strip()}): cannot make a read-only file")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755 if path.is_dir() else 0o644)


def _serve_once(db: Path) -> subprocess.CompletedProcess:
    from conftest import SECRET
    return run_dashboard("serve", "--db", db, "--host", "127.0.0.1", "--port", free_port_pair(),
                         env={"THUOCDO_SECRET_KEY": SECRET}, timeout=60)


def test_a_read_only_database_file_gives_a_clean_error(demo, tmp_path):
    db = tmp_path / "ro.duckdb"
    shutil.copy(demo.path, db)
    _make_read_only(db)
    try:
        out = _serve_once(db)
    finally:
        _make_writable(db)
    assert out.returncode == 4, (out.returncode, out.stderr[-2000:])
    assert "cannot open the database" in out.stderr and "Traceback" not in out.stderr, out.stderr[-2000:]


def test_a_read_only_database_folder_gives_a_clean_error(demo, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "ro.duckdb"
    shutil.copy(demo.path, db)
    _make_read_only(folder)
    try:
        out = _serve_once(db)
    except subprocess.TimeoutExpired:
        pytest.fail("serve kept running on a database it cannot write")
    finally:
        _make_writable(folder)
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert str(db) in out.stderr or "read-only" in out.stderr.lower()
