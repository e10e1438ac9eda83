"""Spark's rollups equal DuckDB's rebuild_all(), row for row, and serve the same kpis objects
(issue 14, docs/scale-out.md).

The lake is built as the server's writer builds it (etl.lake.LakeAppender after every load, so a
corrected task is in it twice) for the contract vectors, and by `etl lake export` for the demo.
The Spark job runs in local mode on one SparkSession for the whole test session; its output is
imported into a database that holds no facts (`etl rollups import`), and every rollup table and
every kpis object read from it must equal those of the database the facts were loaded into.
A national server on such a database then shows its pages, and says where an official's
detail lives. About a minute, most of it Spark's.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import browser_login, run_dashboard, screenshot, settled, start_server, stop_server
from etl.db import connect
from etl.lake import LakeAppender, export
from etl.loader import load_file
from etl.rollup_import import import_rollups, is_rollups_only
from etl.rollups import ROLLUP_TABLES, rebuild_all
from etl_helpers import run_cli

pytestmark = pytest.mark.spark

VECTORS = Path(__file__).parent / "vectors"
EXPECTED = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))
AS_OF = "2026-11-15"  # fixed, so that overdue_open does not depend on today


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the session (about 8 s to start), two shuffle partitions."""
    pytest.importorskip("pyspark")
    from etl.spark.session import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


def _rows(conn, table: str) -> list[tuple]:
    cols = "* EXCLUDE (batch_id)" if table in ("units", "officials") else "*"  # a province's batch numbers
    return sorted(conn.execute(f"SELECT {cols} FROM {table}").fetchall(), key=repr)


def _spark_served(spark, lake: Path, work: Path):
    """The Spark job over `lake`, imported into a new dashboard database; that database."""
    from etl.spark.rollups import compute

    manifest = compute(spark, lake, work / "rollups")
    national = work / "national.duckdb"
    conn = connect(national)
    import_rollups(conn, work / "rollups")
    return conn, manifest


def _assert_same_rollups(duck, served) -> None:
    for table in (*ROLLUP_TABLES, "units", "officials"):
        want, got = _rows(duck, table), _rows(served, table)
        assert got == want, f"{table}: {len(got)} rows from Spark, {len(want)} from DuckDB; " \
                            f"first difference {sorted(set(got) ^ set(want), key=repr)[:3]}"


def _kpis(conn, who: str, ident: str, period: str) -> dict:
    from dashboard.metrics.kpis import official_kpis, unit_kpis

    fn = unit_kpis if who == "unit" else official_kpis
    return fn(conn.cursor(), ident, period, AS_OF)


@pytest.fixture(scope="module")
def vectors_case(spark, tmp_path_factory):
    """The contract vectors loaded file by file with the lake appended after each commit (as the
    writer does); DuckDB's rebuild_all() of them and Spark's rollups served from a new database."""
    work = tmp_path_factory.mktemp("spark-vectors")
    duck = connect(work / "v.duckdb")
    appender = LakeAppender(work / "lake", "HN")
    for name in EXPECTED["load_order"]:
        load_file(duck, VECTORS / name)
        appender.after_commit(duck)
    rebuild_all(duck)
    duck.execute("CHECKPOINT")  # tests copy the file
    served, manifest = _spark_served(spark, work / "lake", work)
    yield duck, served, work, manifest
    duck.close()
    served.close()


def test_vectors_rollups_equal_rebuild_all(vectors_case):
    duck, served, work, manifest = vectors_case
    # the lake holds superseded task versions (tasks_update.jsonl corrects tasks_main.csv): the
    # job must keep only the latest, as the loader did
    lake_tasks = duck.execute("SELECT count(*) FROM read_parquet(?)", [f"{work}/lake/tasks/*/*.parquet"]).fetchone()[0]
    assert lake_tasks > duck.execute("SELECT count(*) FROM tasks").fetchone()[0]
    assert manifest["engine"].startswith("spark ")
    _assert_same_rollups(duck, served)


@pytest.mark.parametrize("case", EXPECTED["kpis"], ids=lambda c: " ".join(c["args"][:4]))
def test_vectors_kpis_identical(vectors_case, case):
    duck, served, _, _ = vectors_case
    args = dict(zip(case["args"][::2], case["args"][1::2]))
    who, ident = ("unit", args["--unit"]) if "--unit" in args else ("official", args["--official"])
    assert _kpis(served, who, ident, args["--period"]) == _kpis(duck, who, ident, args["--period"])


def test_demo_rollups_and_every_kpis_object_identical(spark, demo, tmp_path):
    """The demo data through `etl lake export`: every table, and the kpis object of every unit
    in its last three months and of every official in the last one."""
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    duck = connect(db)
    exported = export(duck, tmp_path / "lake", "demo")
    assert exported["rows"]["tasks"] == duck.execute("SELECT count(*) FROM tasks").fetchone()[0]
    rebuild_all(duck)
    served, _ = _spark_served(spark, tmp_path / "lake", tmp_path)
    try:
        _assert_same_rollups(duck, served)
        periods = [r[0] for r in duck.execute(
            "SELECT DISTINCT period FROM scope_month WHERE period <= ? ORDER BY period DESC LIMIT 3",
            [demo.period]).fetchall()]
        units = [r[0] for r in duck.execute("SELECT unit_id FROM units ORDER BY unit_id").fetchall()]
        officials = [r[0] for r in duck.execute("SELECT official_id FROM officials ORDER BY official_id").fetchall()]
        compared = 0
        for period in periods:
            for unit in units:
                assert _kpis(served, "unit", unit, period) == _kpis(duck, "unit", unit, period), (unit, period)
                compared += 1
        for official in officials:
            assert _kpis(served, "official", official, demo.period) == _kpis(duck, "official", official, demo.period)
            compared += 1
        assert compared > 100
    finally:
        served.close()
        duck.close()


def test_import_refuses_a_database_with_facts(vectors_case, tmp_path):
    """Rollups computed elsewhere never overwrite those of a database that holds the facts."""
    _, _, work, _ = vectors_case
    copy = tmp_path / "facts.duckdb"
    shutil.copy(work / "v.duckdb", copy)
    proc = run_cli("etl", "rollups", "import", work / "rollups", "--db", copy, check_codes=(4,))
    assert "holds facts" in proc.stderr
    before = duckdb.connect(str(copy), read_only=True)
    assert before.execute("SELECT count(*) FROM ingest_ledger WHERE format = 'rollups'").fetchone()[0] == 0
    before.close()


@pytest.mark.parametrize("viewport", [(1920, 1080), (390, 844)], ids=["desktop", "phone"])
def test_national_server_pages_from_rollups(vectors_case, browser, tmp_path, viewport):
    """A server of imported rollups: the kpis CLI and the overview, unit and official pages
    work; an official's detail lists say they live on the province's server, and link there."""
    _, served, work, _ = vectors_case
    db = tmp_path / "national.duckdb"
    served.execute("CHECKPOINT")
    shutil.copy(work / "national.duckdb", db)
    root = served.execute("SELECT unit_id FROM units WHERE parent_id IS NULL").fetchone()[0]
    official = served.execute("SELECT official_id FROM official_month GROUP BY 1 ORDER BY sum(tasks_due) DESC, 1 "
                              "LIMIT 1").fetchone()[0]
    probe = duckdb.connect(str(db), read_only=True)
    assert is_rollups_only(probe.cursor())
    probe.close()
    cli = run_dashboard("kpis", "--db", db, "--unit", root, "--period", "2026-10", "--as-of", AS_OF)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == _kpis(served, "unit", root, "2026-10")
    added = run_dashboard("users", "add", "quantri", "--role", "admin", "--password-stdin", "--db", db,
                          stdin="national-Pass-0001\n")
    assert added.returncode == 0, added.stderr
    srv = start_server(db, tmp_path / "server.log", env={"THUOCDO_PROVINCE_URL": "https://hanoi.example/"})
    try:
        from conftest import Login
        context, page = browser_login(browser, srv.base_url, Login("quantri", "national-Pass-0001", "admin"),
                                      viewport=viewport)
        name = "desktop" if viewport[0] > 1000 else "phone"
        try:
            page.goto(f"{srv.base_url}/?period=2026-10")
            settled(page)
            assert page.locator(".kpi-tile").count() > 0
            screenshot(page, f"national-overview-{name}")
            page.goto(f"{srv.base_url}/unit/{root}?period=2026-10")
            settled(page)
            assert page.locator(".kpi-tile").count() > 0
            screenshot(page, f"national-unit-{name}")
            page.goto(f"{srv.base_url}/official/{official}?period=2026-10")
            settled(page)
            notes = page.locator("#ov-tasks .detail-elsewhere")
            assert notes.count() == 1 and "Chi tiết nằm trên máy chủ của tỉnh" in notes.inner_text()
            assert page.locator("#ov-tasks a.detail-elsewhere-link").get_attribute("href") == "https://hanoi.example/"
            assert page.locator("#ov-history .detail-elsewhere").count() == 1
            screenshot(page, f"national-official-{name}")
        finally:
            context.close()
    finally:
        stop_server(srv)
    assert "Traceback" not in srv.log()
