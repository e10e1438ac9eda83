"""Input-attack suite (issue 12): Hypothesis-driven fuzzing of everything that reads input.

- The ingestion API (`POST /api/v1/{ratings,tasks,evaluations}`, in process, with a system and a
  counter device token): wrong types, huge strings and lists around API_MAX_BYTES and
  API_MAX_RECORDS, NaN and ±Infinity tokens, deep nesting, invalid UTF-8, lone surrogates,
  duplicate keys, missing and extra fields. Always a 2xx/4xx JSON answer, one result per
  record, rows_read = loaded + duplicates + quarantined for every batch, and the good records
  of a mixed batch still load.
- The file loader (`etl.loader.load_file` on a copy of the contract vectors' database) and the
  inbox: CSV with mismatched quotes, BOMs, mixed delimiters, long lines, random bytes; JSON
  Lines with NaN, surrogates and nesting; Parquet of wrong types; XLSX and zip bombs; path
  traversal, NUL and over-long names. load_file never raises for a file that exists, every
  ledger entry has a status and a reason, and a file that loads nothing changes no table but
  the ledger and the quarantine.
- SQL metacharacters in every page's URL parameters and every callback's filter and sort
  inputs (from the app's own callback graph): never a 5xx, never a DuckDB error in the answer,
  and every table's row count unchanged.

Counts of examples run and held per class go to test-artifacts/reliability/fuzz.json.
Default run: small `max_examples`; `pytest -m long tests/test_fuzz.py` runs many more.
"""
from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote, urlencode

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import ARTIFACTS, REPO, SECRET, Tally

VECTORS = Path(__file__).parent / "vectors"
FUZZ_JSON = ARTIFACTS / "reliability" / "fuzz.json"
LONG = int(os.environ.get("FUZZ_LONG_EXAMPLES", "600"))
DB_ERRORS = ("Catalog Error", "Parser Error", "Binder Error", "Conversion Error", "Invalid Input Error",
             "Constraint Error", "Transaction Error", "Permission Error", "IO Error", "duckdb.", "Traceback",
             "INTERNAL Error", "syntax error at or near")

# --- what ran, for the docs generator ------------------------------------------------------

_TALLY = Tally("examples")
_COUNTS = _TALLY.counts
case = _TALLY.case


@pytest.fixture(scope="module", autouse=True)
def _record_counts():
    yield
    FUZZ_JSON.parent.mkdir(parents=True, exist_ok=True)
    previous = {}
    if FUZZ_JSON.exists():  # keep the classes of another run (the long one) that this run did not try
        try:
            previous = {c["class"]: c for c in json.loads(FUZZ_JSON.read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError):
            previous = {}
    mode = "long" if _LONG_RUN[0] else "default"
    for name, n in _COUNTS.items():
        run = {"examples": n["examples"], "held": n["held"],
               "command": "pytest tests/test_fuzz.py" + (" -m long" if mode == "long" else "")}
        prev = previous.get(name) or {}
        earlier = prev.get("by_mode") or ({("long" if "-m long" in prev.get("command", "") else "default"): {
            k: prev[k] for k in ("examples", "held", "command") if k in prev}} if prev else {})
        by_mode = {**earlier, mode: run}
        previous[name] = {"class": name, **run, "by_mode": by_mode}  # top level: this run; by_mode: each mode's last
    FUZZ_JSON.write_text(json.dumps(sorted(previous.values(), key=lambda c: c["class"]), ensure_ascii=False,
                                    indent=1) + "\n", encoding="utf-8")


_LONG_RUN = [False]


def _settings(n: int):
    # No shrinking: every example is a request or a load, and the first failing one says enough.
    return settings(max_examples=n, deadline=None, database=None, derandomize=False, print_blob=False,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example,
                                           HealthCheck.filter_too_much])


def _run(n: int, strategy, prop) -> None:
    """`prop(example)` for `n` examples of `strategy`."""
    @_settings(n)
    @given(strategy)
    def run(example):
        prop(example)
    run()


# --- the ingestion API, in process ------------------------------------------------------------

class Api:
    """A Flask server with exactly the pieces the ingestion API runs on (size limits, the gate,
    the live hub, the one writer, the API), on a private copy of the demo database. The Dash app
    is one per process (conftest's `app`); this one has no pages, so the copy is ours alone."""

    def __init__(self, path: Path):
        from flask import Flask

        from dashboard import api, auth, db, ingest, limits, live, settings as app_settings, tokens
        os.environ.setdefault("THUOCDO_SECRET_KEY", SECRET)
        checked = app_settings.load({"DB_PATH": str(path), "INBOX": False, "LIVE_PORT": 0, "INGEST_BATCH_MS": 10,
                                     "IDLE_MAINTENANCE_SECONDS": 3600})
        server = Flask("fuzz-api", static_folder=None)
        server.config["THUOCDO"] = checked
        self.database = db.Database(path, checked["MEMORY_LIMIT"])
        db.init_app(server, self.database)
        try:  # the audit log, where the app has one (as create_app does)
            from dashboard import audit
            audit.init_app(server)
        except ImportError:
            pass
        auth.init_app(server)
        live.init_app(server)
        ingest.init_app(server)
        api.init_app(server)
        limits.init_app(server)
        self.server = server
        self.writer = server.extensions["thuocdo_writer"]
        self.limits = checked
        cur = self.database.cursor()
        self.system = tokens.add_device(cur, "fuzz-system")
        self.counter = tokens.add_device(cur, "fuzz-kiosk", counter_id="QF")
        self.official = cur.execute("SELECT official_id FROM officials WHERE active ORDER BY official_id "
                                    "LIMIT 1").fetchone()[0]
        tokens.assign_duty(cur, "QF", self.official, "fuzz")
        cur.close()
        self.client = server.test_client()

    def cursor(self):
        return self.database.cursor()

    def close(self):
        self.writer.stop()
        audit = self.server.extensions.get("thuocdo_audit")
        if audit is not None and hasattr(audit, "stop"):
            audit.stop()
        self.database.close()


@pytest.fixture(scope="module")
def api(demo, tmp_path_factory):
    """The API on a copy of the demo database (~2 s to start)."""
    path = tmp_path_factory.mktemp("fuzzapi") / "fuzzapi.duckdb"
    shutil.copy(demo.copies["kpis"], path)
    a = Api(path)
    yield a
    a.close()


_SEQ = itertools.count()


def _good_rating(api: Api, counter: bool) -> dict:
    return {"rating_id": f"FZ-{uuid.uuid4().hex[:16]}", "official_id": api.official,
            "counter_id": "QF" if counter else "Q1", "rated_at": "2026-10-20T09:00:00+07:00", "level": 4}


FIELDS = {
    "ratings": ["rating_id", "official_id", "counter_id", "procedure_code", "rated_at", "level", "reason", "comment"],
    "tasks": ["task_id", "official_id", "title", "origin", "assigned_at", "due_at", "completed_at", "status",
              "quality_failures", "updated_at"],
    "evaluations": ["event_id", "official_id", "period", "stage", "actor_official_id", "result", "score",
                    "acted_at", "note"],
}
_NASTY_TEXT = st.sampled_from(["", " ", "\x00", "\ufeff", "\u202e", "'; DROP TABLE ratings; --", "NaN", "1e309",
                               "2026-13-45", "2026-10-20T25:61:00", "９", "٣", "\n", "\\", "\"", "x" * 300,
                               "CB0001\n", "Q1", "<script>", "Infinity", "-0"])
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40), _NASTY_TEXT)
_JSON = st.recursive(_SCALAR, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=12)


@st.composite
def _record(draw, kind: str):
    """A contract record with fields missing, of wrong types, or extra; or not a record at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_JSON)
    fields = FIELDS[kind]
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    rec = {f: draw(st.one_of(_SCALAR, _JSON)) for f in chosen}
    for extra in draw(st.lists(st.text(max_size=12), max_size=3)):
        rec[extra] = draw(_SCALAR)
    return rec


@st.composite
def _batch(draw):
    """(kind, use the counter token, body bytes, n records or None when the body is not a list,
    index of a good rating or None)."""
    kind = draw(st.sampled_from(["ratings", "ratings", "tasks", "evaluations"]))
    counter = kind == "ratings" and draw(st.booleans())
    shape = draw(st.sampled_from(["records", "records", "records", "wrapped", "value", "bytes", "nested",
                                  "dup-keys", "bad-utf8", "surrogate"]))
    if shape == "value":
        return kind, counter, json.dumps(draw(_JSON), allow_nan=True).encode(), None, None
    if shape == "bytes":
        return kind, counter, draw(st.binary(max_size=300)), None, None
    if shape == "nested":
        depth = draw(st.sampled_from([10, 500, 5000, 100_000]))
        inner = draw(st.sampled_from([b"[", b'{"a":']))
        close = b"]" if inner == b"[" else b"}"
        return kind, counter, b"[" + inner * depth + b"1" + close * depth + b"]", None, None
    records = draw(st.lists(_record(kind), min_size=0 if shape == "records" else 1, max_size=12))
    good = None
    if kind == "ratings" and records and draw(st.booleans()):
        good = draw(st.integers(0, len(records)))
        records.insert(good, "GOOD")
    texts = [json.dumps(r, allow_nan=True) if r != "GOOD" else None for r in records]
    if shape == "dup-keys" and texts:
        i = draw(st.integers(0, len(texts) - 1))
        if texts[i] is not None and texts[i].startswith("{"):
            texts[i] = '{"rating_id": "dup", "task_id": "dup", "event_id": "dup", ' + texts[i][1:] \
                if texts[i] != "{}" else '{"a": 1, "a": 2}'
    if shape == "surrogate" and texts:
        i = draw(st.integers(0, len(texts) - 1))
        texts[i] = '{"%s": "\\ud800x", "comment": "\\udfff"}' % FIELDS[kind][0]
    raw_parts = [t.encode() if t is not None else None for t in texts]
    if shape == "bad-utf8" and raw_parts:
        i = draw(st.integers(0, len(raw_parts) - 1))
        raw_parts[i] = b'{"%s": "\xff\xfe\xc3(", "comment": "\xed\xa0\x80"}' % FIELDS[kind][0].encode()
    return kind, counter, raw_parts, shape, good


def _post(api: Api, kind: str, raw: bytes, counter: bool = False, content_type: str = "application/json"):
    token = api.counter if counter else api.system
    return api.client.post(f"/api/v1/{kind}", data=raw, content_type=content_type,
                           headers={"Authorization": f"Bearer {token}"})


def _answer(r) -> dict:
    """The answer is a 2xx/4xx with a JSON object body and no traceback."""
    text = r.get_data(as_text=True)
    assert 200 <= r.status_code < 500 and not (300 <= r.status_code < 400), (r.status_code, text[:300])
    assert "Traceback" not in text, text[:300]
    body = json.loads(text)
    assert isinstance(body, dict), text[:300]
    return body


def _check_accounting(api: Api, batch_id=None) -> None:
    cur = api.cursor()
    try:
        bad = cur.execute("SELECT batch_id, rows_read, loaded, duplicates, quarantined FROM ingest_ledger "
                          "WHERE rows_read <> loaded + duplicates + quarantined").fetchall()
        assert not bad, bad
        if batch_id is not None:
            assert cur.execute("SELECT status FROM ingest_ledger WHERE batch_id = ?", [batch_id]).fetchone(), batch_id
    finally:
        cur.close()


def _api_property(api: Api, batch) -> None:
    kind, counter, parts, shape, good = batch
    with case(f"api: {shape}" if isinstance(parts, list) else "api: not a list (values, bytes, nesting)"):
        good_record = None
        if isinstance(parts, list):
            if good is not None:
                good_record = _good_rating(api, counter)
                parts[good] = json.dumps(good_record).encode()
            raw = b"[" + b",".join(parts) + b"]"
            if shape == "wrapped":
                raw = b'{"records": ' + raw + b', "extra": [1, 2]}'
        else:
            raw = parts
        r = _post(api, kind, raw, counter)
        body = _answer(r)
        if r.status_code in (200, 207, 422) and "results" in body:
            n = len(parts) if isinstance(parts, list) else None
            if n is not None:
                assert len(body["results"]) == n, (len(body["results"]), n)
            assert all(isinstance(x, dict) and isinstance(x.get("result"), str) for x in body["results"])
            assert body["loaded"] + body["duplicates"] + body["quarantined"] + body["refused"] == len(body["results"])
            _check_accounting(api, body.get("batch_id"))
            if good_record is not None:
                assert body["results"][good]["result"] == "loaded", body["results"][good]
        else:
            assert "error" in body, body
            # A whole-body refusal: nothing of it was written.
            if good_record is not None:
                cur = api.cursor()
                try:
                    assert cur.execute("SELECT count(*) FROM ratings WHERE rating_id = ?",
                                       [good_record["rating_id"]]).fetchone()[0] == 0
                finally:
                    cur.close()
            _check_accounting(api)


def test_api_fuzz(api):
    _run(120, _batch(), lambda b: _api_property(api, b))


@pytest.mark.long
def test_api_fuzz_long(api):
    _LONG_RUN[0] = True
    _run(LONG, _batch(), lambda b: _api_property(api, b))


def test_api_limits_and_edges(api):
    """The edges Hypothesis would rarely reach: bodies at and over API_MAX_BYTES, batches at and
    over API_MAX_RECORDS, NaN/Infinity tokens, a body of deep nesting, a form post, no token."""
    max_bytes, max_records = api.limits["API_MAX_BYTES"], api.limits["API_MAX_RECORDS"]
    good = _good_rating(api, False)
    pad = lambda size: json.dumps([{**good, "rating_id": f"FZ-L{uuid.uuid4().hex[:8]}",  # noqa: E731
                                    "comment": "x" * size}]).encode()
    under = pad(max_bytes - 300)
    under = pad(max_bytes - 300 - (len(under) - max_bytes) - 1)
    over = pad(max_bytes)
    many = [{**good, "rating_id": f"FZ-M{next(_SEQ)}-{i}"} for i in range(max_records)]
    cases = {
        "a body just under API_MAX_BYTES": (under, (200, 207, 422)),
        "a body over API_MAX_BYTES": (over, (413,)),
        "API_MAX_RECORDS records": (json.dumps(many).encode(), (200,)),
        "API_MAX_RECORDS + 1 records": (json.dumps(many + [good]).encode(), (413,)),
        "NaN and infinities": (b'[{"rating_id": "FZ-NAN", "official_id": "%s", "counter_id": "Q1", '
                               b'"rated_at": "2026-10-20T09:00:00", "level": NaN}, {"rating_id": Infinity}, '
                               b'{"rating_id": "FZ-INF", "level": -Infinity}]' % api.official.encode(), (422,)),
        "100,000 nested arrays": (b"[" * 100_000 + b"]" * 100_000, (400,)),
        "100,000 nested objects": (b'{"records":' * 50_000 + b"1" + b"}" * 50_000, (400,)),
        "an empty body": (b"", (400,)),
        "an empty list": (b"[]", (400,)),
        "a list of 1000 nulls": (b"[" + b",".join([b"null"] * 1000) + b"]", (422,)),
    }
    for what, (raw, statuses) in cases.items():
        with case("api: limits and edges"):
            r = _post(api, "ratings", raw)
            body = _answer(r)
            assert r.status_code in statuses, (what, r.status_code, str(body)[:300])
            if "results" in body:
                assert len(body["results"]) == len(json.loads(raw)), what
                _check_accounting(api, body["batch_id"])
    # A lone surrogate in one record (it made the writer fail the whole micro-batch: a 500 for
    # everyone in the window): that record is quarantined, the good one beside it loads.
    for wrap in (False, True):
        with case("api: limits and edges"):
            ok = {**good, "rating_id": f"FZ-S{uuid.uuid4().hex[:8]}"}
            raw = b'[{"rating_id": "FZ-\\ud800", "comment": "\\udfff"}, ' + json.dumps(ok).encode() + b"]"
            r = _post(api, "ratings", b'{"records": ' + raw + b"}" if wrap else raw)
            body = _answer(r)
            assert r.status_code == 207 and [x["result"] for x in body["results"]][1] == "loaded", body
            assert body["results"][0]["status"] >= 400, body
            _check_accounting(api, body["batch_id"])
    with case("api: limits and edges"):
        r = api.client.post("/api/v1/ratings", data={"a": "b"}, headers={"Authorization": f"Bearer {api.system}"})
        assert _answer(r) and r.status_code == 400
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer " + "x" * 100_000},
                    {"Authorization": "Basic Zm9vOmJhcg=="}, {"Authorization": "Bearer \t"}):
        with case("api: limits and edges"):
            r = api.client.post("/api/v1/ratings", data=json.dumps([good]), content_type="application/json",
                                headers=headers)
            assert _answer(r) and r.status_code == 401
    _check_accounting(api)


# --- the file loader ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vectors_db(tmp_path_factory) -> Path:
    """The contract vectors loaded into a fresh database, in their order (~3 s)."""
    from etl.db import connect
    from etl.loader import load_paths

    order = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))["load_order"]
    path = tmp_path_factory.mktemp("fuzzvectors") / "vectors.duckdb"
    conn = connect(path)
    try:
        load_paths(conn, [VECTORS / n for n in order])
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    return path


class Loader:
    """One connection on a private copy of the vectors' database, and a folder for files."""

    def __init__(self, base: Path, where: Path):
        from etl.db import connect
        where.mkdir(parents=True, exist_ok=True)
        self.path = where / "db.duckdb"
        shutil.copy(base, self.path)
        self.conn = connect(self.path)
        self.files = where / "files"
        self.files.mkdir(exist_ok=True)
        self.tables = [r[0] for r in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]

    def counts(self) -> dict:
        return {t: self.conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in self.tables} | {
            "data_version": self.conn.execute("SELECT max(version) FROM data_version").fetchone()[0]}

    def write(self, name: str, data: bytes) -> Path:
        folder = self.files / str(next(_SEQ))
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        return path

    def load(self, path: Path) -> dict:
        """load_file's entry, checked: it did not raise, it says what happened, the accounting
        holds, and a file that loaded nothing changed only the ledger and the quarantine."""
        from etl.loader import load_file
        before = self.counts()
        entry = load_file(self.conn, path)
        after = self.counts()
        assert entry["status"] in ("loaded", "partial", "rejected", "already_loaded"), entry
        assert entry["rows_read"] == entry["loaded"] + entry["duplicates"] + entry["quarantined"], entry
        if entry["status"] == "rejected":
            assert entry["message"] or entry["reasons"], entry
            assert sum(entry["reasons"].values()) >= 1, entry
        if entry["quarantined"]:
            assert sum(entry["reasons"].values()) == entry["quarantined"], entry
        if not entry["loaded"]:
            changed = {t for t in after if after[t] != before[t]} - {"ingest_ledger", "quarantine"}
            assert not changed, (entry, changed)
        # Nothing of a reader is left behind for the next file (temp tables, registered views).
        left = self.conn.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'temp' "
                                 "AND table_name IN ('raw', 'staged')").fetchall()
        assert not left, left
        return entry

    def close(self):
        self.conn.close()


@pytest.fixture(scope="module")
def loader(vectors_db, tmp_path_factory):
    lo = Loader(vectors_db, tmp_path_factory.mktemp("fuzzloader"))
    yield lo
    lo.close()


RATINGS_HEAD = "rating_id,official_id,counter_id,procedure_code,rated_at,level,reason,comment"
_CSV_ATOMS = st.sampled_from(['"', '""', ",", ";", "\t", "\r", "\n", "\r\n", "\x00", "R000001", "CB0001", "Q1",
                              "2026-10-04 13:28:00", "4", "khac", "\ufeff", "'", "\\", "é", "Đặng", "\u202e",
                              "=cmd|' /C calc'!A0", "NULL", " ", "a" * 50])


@st.composite
def _csv_file(draw):
    head = draw(st.sampled_from([RATINGS_HEAD, RATINGS_HEAD.replace(",", ";"), RATINGS_HEAD + ",extra",
                                 "rating_id;official_id,counter_id", "", '"rating_id,official_id', "a"]))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe"]))
    lines = draw(st.lists(st.lists(_CSV_ATOMS, max_size=14).map("".join), max_size=12))
    body = (head + "\n" + "\n".join(lines)).encode("utf-8")
    if draw(st.integers(0, 5)) == 0:  # a very long line
        body += b"\nR9," + b"x" * draw(st.sampled_from([70_000, 2_000_000])) + b",Q1\n"
    if draw(st.integers(0, 4)) == 0:  # bytes that are not UTF-8
        body += draw(st.binary(min_size=1, max_size=40))
    return bom + body


_JSONL_LINES = st.one_of(
    st.sampled_from(['{"rating_id": "J1", "level": NaN}', '{"rating_id": Infinity}', '{"rating_id": "\\ud800"}',
                     '{"comment": "\\udc00\\ud800"}', "[1,2]", "null", '"x"', "{", '{"a":1,"a":2}', "\x00",
                     '{"rating_id": "J2", "official_id": "CB0001", "counter_id": "Q1", "rated_at": "2026-10-04", '
                     '"level": "4", "extra": {"deep": [[[[[]]]]]}}', "[" * 3000 + "]" * 3000,
                     '{"a":' * 2000 + "1" + "}" * 2000, '{"level": 1e999}', '{"level": -0.0}']),
    st.text(max_size=60),
    _JSON.map(lambda v: json.dumps(v, allow_nan=True)))


@st.composite
def _jsonl_file(draw):
    lines = draw(st.lists(_JSONL_LINES, min_size=1, max_size=10))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


def _loader_property(loader: Loader, name: str, data: bytes, what: str) -> None:
    with case(f"loader: {what}"):
        loader.load(loader.write(name, data))


KINDS_CSV = st.sampled_from(["ratings", "tasks", "units", "officials", "evaluations"])
KINDS_JSONL = st.sampled_from(["ratings", "tasks", "checkins"])
SUFFIXES = st.sampled_from([".csv", ".jsonl", ".parquet", ".xlsx", ".CSV", ".txt", ""])


def _csv_case(loader):
    return lambda ex: _loader_property(loader, f"{ex[1]}_fuzz.csv", ex[0], "CSV quotes, BOMs, delimiters, long lines")


def _jsonl_case(loader):
    return lambda ex: _loader_property(loader, f"{ex[1]}_fuzz.jsonl", ex[0], "JSON Lines: NaN, surrogates, nesting")


def _bytes_case(loader):
    return lambda ex: _loader_property(loader, f"ratings_fuzz{ex[1]}", ex[0], "random bytes")


def test_loader_csv(loader):
    _run(60, st.tuples(_csv_file(), KINDS_CSV), _csv_case(loader))


def test_loader_jsonl(loader):
    _run(60, st.tuples(_jsonl_file(), KINDS_JSONL), _jsonl_case(loader))


def test_loader_bytes(loader):
    _run(40, st.tuples(st.binary(max_size=2000), SUFFIXES), _bytes_case(loader))


@pytest.mark.long
def test_loader_long(loader):
    _LONG_RUN[0] = True
    _run(LONG, st.tuples(_csv_file(), KINDS_CSV), _csv_case(loader))
    _run(LONG, st.tuples(_jsonl_file(), KINDS_JSONL), _jsonl_case(loader))
    _run(LONG, st.tuples(st.binary(max_size=2000), SUFFIXES), _bytes_case(loader))
    _run(LONG // 2, _parquet_file(), _parquet_case(loader))


_PARQUET_TYPES = ["string", "int64", "float64", "bool", "binary", "timestamp", "date", "list", "struct", "null",
                  "decimal"]


def _parquet_column(kind: str, n: int, rnd):
    import datetime as dt
    import decimal

    import pyarrow as pa
    if kind == "string":
        return pa.array([rnd.choice(["R1", "CB0001", "Q1", "4", "2026-10-04", "", None, "x" * 300]) for _ in range(n)])
    if kind == "int64":
        return pa.array([rnd.choice([0, -1, 4, 2 ** 62, None]) for _ in range(n)], pa.int64())
    if kind == "float64":
        return pa.array([rnd.choice([float("nan"), float("inf"), -float("inf"), 4.0, 4.5, None]) for _ in range(n)],
                        pa.float64())
    if kind == "bool":
        return pa.array([rnd.choice([True, False, None]) for _ in range(n)], pa.bool_())
    if kind == "binary":
        return pa.array([rnd.choice([b"\xff\xfe", b"R1", None]) for _ in range(n)], pa.binary())
    if kind == "timestamp":
        return pa.array([rnd.choice([dt.datetime(2026, 10, 4, 13, 28), dt.datetime(1, 1, 1), None])
                         for _ in range(n)], pa.timestamp("us"))
    if kind == "date":
        return pa.array([rnd.choice([dt.date(2026, 10, 4), dt.date(9999, 12, 31), None]) for _ in range(n)],
                        pa.date32())
    if kind == "list":
        return pa.array([rnd.choice([[1, 2], [], None]) for _ in range(n)], pa.list_(pa.int64()))
    if kind == "struct":
        return pa.array([rnd.choice([{"a": 1}, None]) for _ in range(n)], pa.struct([("a", pa.int64())]))
    if kind == "decimal":
        return pa.array([rnd.choice([decimal.Decimal("4.00"), None]) for _ in range(n)], pa.decimal128(10, 2))
    return pa.nulls(n)


@st.composite
def _parquet_file(draw):
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq
    rnd = random.Random(draw(st.integers(0, 2 ** 32)))
    n = draw(st.integers(0, 6))
    cols = draw(st.lists(st.sampled_from(FIELDS["ratings"] + ["Level", "extra", ""]), unique=True, min_size=1,
                         max_size=9))
    table = pa.table({c: _parquet_column(draw(st.sampled_from(_PARQUET_TYPES)), n, rnd) for c in cols})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    if draw(st.integers(0, 4)) == 0:  # a damaged page
        cut = draw(st.integers(4, max(5, len(data) - 9)))
        data = data[:cut] + bytes(b ^ 0x5A for b in data[cut:cut + 8]) + data[cut + 8:]
    return data


def _parquet_case(loader):
    return lambda data: _loader_property(loader, "ratings_fuzz.parquet", data, "Parquet of wrong types")


def test_loader_parquet(loader):
    _run(40, _parquet_file(), _parquet_case(loader))


def test_loader_parquet_integers_out_of_range(loader):
    """Found by the long run: a Parquet BIGINT level of 2**62 failed the whole load (an
    exception out of load_file); it is one row's bad_number."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    for value in (2 ** 62, -(2 ** 40), 2 ** 31):
        buf = io.BytesIO()
        pq.write_table(pa.table({"rating_id": [f"RP{value}"], "official_id": ["CB0001"], "counter_id": ["Q1"],
                                 "rated_at": ["2026-10-04 13:28:00"], "level": pa.array([value], pa.int64())}), buf)
        with case("loader: Parquet of wrong types"):
            entry = loader.load(loader.write("ratings_big.parquet", buf.getvalue()))
            assert entry["quarantined"] == 1 and entry["reasons"] == {"bad_number": 1}, entry


# --- XLSX and zip bombs ---------------------------------------------------------------------

def _xlsx_with_sheet(path: Path, write_sheet) -> Path:
    """A valid workbook whose first sheet's XML is replaced by what `write_sheet(file)` writes."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["unit_id", "period", "stage"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                sheet = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                sheet.compress_type = zipfile.ZIP_DEFLATED
                with out.open(sheet, "w", force_zip64=True) as f:
                    write_sheet(f)
            else:
                out.writestr(info, src.read(info.filename))
    return path


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
               b'<row r="1"><c r="A1" t="inlineStr"><is><t>unit_id</t></is></c>'
               b'<c r="B1" t="inlineStr"><is><t>period</t></is></c></row>')
_SHEET_TAIL = b"</sheetData></worksheet>"
MB = 1024 * 1024


def _one_huge_cell(f, size=300 * MB):
    f.write(_SHEET_HEAD + b'<row r="2"><c r="A2" t="inlineStr"><is><t>')
    chunk = b"a" * MB
    for _ in range(size // MB):
        f.write(chunk)
    f.write(b"</t></is></c></row>" + _SHEET_TAIL)


def _many_rows(f, size=300 * MB):
    f.write(_SHEET_HEAD)
    row = b'<row><c t="inlineStr"><is><t>HN</t></is></c><c t="inlineStr"><is><t>2026-10</t></is></c></row>'
    chunk = row * (MB // len(row))
    for _ in range(size // len(chunk)):
        f.write(chunk)
    f.write(_SHEET_TAIL)


def _billion_laughs(f):
    f.write(b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lololololololololololol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10))
            + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>' + _SHEET_TAIL)


_LOAD_ONE = """
import json, sys, time
from pathlib import Path
from etl.db import connect
from etl.loader import load_file
conn = connect(sys.argv[1])
started = time.monotonic()
entry = load_file(conn, Path(sys.argv[2]))
# VmHWM: this process's peak since exec (ru_maxrss would count the forking pytest's too)
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"entry": entry, "seconds": time.monotonic() - started, "maxrss_mb": peak / 1024}, default=str))
"""


@pytest.mark.parametrize("bomb", ["one 300 MB cell", "300 MB of rows", "billion laughs", "a zip of zips"])
def test_xlsx_bombs_are_refused_with_a_reason(vectors_db, tmp_path, bomb):
    """A tiny .xlsx whose sheet expands to hundreds of MB is refused from its directory, with a
    reason, in bounded time and memory (a separate process, so its peak memory is its own)."""
    path = tmp_path / "unit_evaluations_bomb.xlsx"
    if bomb == "one 300 MB cell":
        _xlsx_with_sheet(path, _one_huge_cell)
    elif bomb == "300 MB of rows":
        _xlsx_with_sheet(path, _many_rows)
    elif bomb == "billion laughs":
        _xlsx_with_sheet(path, _billion_laughs)
    else:
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("a.bin", b"\0" * 50 * MB)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for i in range(20):
                z.writestr(f"xl/inner{i}.zip", inner.getvalue())
    assert path.stat().st_size < 2 * MB
    db = tmp_path / "db.duckdb"
    shutil.copy(vectors_db, db)
    with case("loader: XLSX and zip bombs"):
        proc = subprocess.run([sys.executable, "-c", _LOAD_ONE, str(db), str(path)], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        entry = out["entry"]
        assert entry["status"] == "rejected" and entry["loaded"] == 0, entry
        assert entry["message"], entry
        assert out["maxrss_mb"] < 450, out
        assert out["seconds"] < 20, out


# --- path traversal and hostile file names ---------------------------------------------------

def test_path_traversal_and_hostile_names_in_the_loader(loader):
    """load_file takes any path to a file that exists; the ledger keeps the base name only. A
    path that is not a file (NUL, a folder, nothing there) is a FileNotFoundError, never another
    exception, and writes nothing."""
    good = loader.write("ratings_t.csv", (RATINGS_HEAD + "\nRT1,CB0001,Q1,,2026-10-04 13:28:00,9,,\n").encode())
    sub = good.parent / "sub"
    sub.mkdir()
    for path in (sub / ".." / good.name, Path(os.path.abspath(good)), Path(str(good.parent) + "//" + good.name)):
        with case("loader: path traversal and names"):
            entry = loader.load(path)
            assert entry["file"] == good.name, entry
    for bad in (str(good) + "\x00.csv", str(good.parent / "ratings_\x00.csv"), str(good.parent),
                str(good.parent / ".." / ".." / "ratings_nothing_here.csv"), "/etc/../etc/passwd/ratings.csv"):
        with case("loader: path traversal and names"):
            from etl.loader import load_file
            before = loader.counts()
            with pytest.raises(FileNotFoundError):
                load_file(loader.conn, Path(bad))
            assert loader.counts() == before
    names = ["ratings_..csv", "ratings_%2e%2e%2fetc.csv", "ratings_\n.csv", "ratings_\u202egnp.csv", "ratings_ .csv",
             "-ratings.csv", "ratings_" + "x" * 230 + ".csv", "RATINGS_upper.CSV", "ratings_é.csv",
             "ratings_\\..\\x.csv", "ratings_'; DROP TABLE units; --.csv"]
    for name in names:
        with case("loader: path traversal and names"):
            entry = loader.load(loader.write(name, (RATINGS_HEAD + "\nRN1,CB0001,Q1,,2026-10-04,9,,\n").encode()))
            assert entry["file"] == name, entry


@pytest.mark.parametrize("name", [
    "ratings_" + "x" * 240 + ".csv",             # its NAME.reason.txt would be longer than a file name may be
    "notakind_" + "y" * 240 + ".csv",
    "ratings_..csv", "ratings_\n.csv", "ratings_%2e%2e%2f.csv", "ratings_\\..\\.csv", "units_'--.csv",
    "ratings_ok.csv"])
def test_the_inbox_files_away_hostile_names(vectors_db, tmp_path, name):
    """Whatever its name, a file in the inbox is loaded once and leaves the inbox (archive or
    rejected/ beside its reason), and nothing is written outside the three folders."""
    from etl.db import connect
    from etl.inbox import Inbox
    from etl.writer import Writer

    db = tmp_path / "db.duckdb"
    shutil.copy(vectors_db, db)
    conn = connect(db)
    w = Writer(conn.cursor(), tmp_path / "spool", tmp_path / "archive", batch_seconds=0.01, idle_seconds=3600).start()
    try:
        inbox = Inbox(w, tmp_path / "in", tmp_path / "archive", tmp_path / "rejected")
        for folder in (inbox.inbox, inbox.archive, inbox.rejected):
            folder.mkdir(exist_ok=True)
        before = set(tmp_path.rglob("*"))
        (inbox.inbox / name).write_text(RATINGS_HEAD + "\nRI1,CB0001,Q1,,2026-10-04 13:28:00,9,,\n", encoding="utf-8")
        with case("inbox: hostile file names"):
            entries = inbox.sweep()
            assert len(entries) == 1 and entries[0]["status"] in ("partial", "rejected", "loaded"), entries
            assert not list(inbox.inbox.iterdir())
            assert inbox.sweep() == []  # nothing left to retry: no crash loop, no second ledger row
            assert conn.execute("SELECT count(*) FROM ingest_ledger WHERE file = ?", [name]).fetchone()[0] == 1
            new = set(tmp_path.rglob("*")) - before
            outside = [p for p in new if not any(p.is_relative_to(f) for f in (
                inbox.archive, inbox.rejected, tmp_path / "spool")) and p.name not in ("db.duckdb.wal",)]
            assert not outside, outside
            if entries[0]["status"] == "rejected":
                assert [p for p in inbox.rejected.iterdir() if p.name.endswith(".reason.txt")]
    finally:
        w.stop()
        conn.close()


# --- SQL metacharacters in every filter and sort parameter -----------------------------------

META = ["'", '"', ";", "--", "/*", "*/", "\\", "\u2018", "\u2019", "\u201c", "\u201d", "\uff07", "%", "_", "\x00",
        "' OR '1'='1", "'; DROP TABLE units; --", '"; DROP TABLE "officials', "1; SELECT * FROM users --",
        "') UNION SELECT password_hash FROM users --", "$1", "?", "\\'", "''", "%27", "\n", "COPY users TO '/tmp/x'",
        "read_csv('/etc/passwd')", "ATTACH '/tmp/x.db'", "x' || (SELECT 1) || '"]
_META_TEXT = st.one_of(st.sampled_from(META), st.lists(st.sampled_from(META + ["a", "HN", "2026-10", "asc", " "]),
                                                       min_size=1, max_size=5).map("".join))


def _table_counts(app) -> dict:
    cur = app.server.extensions["thuocdo_db"].cursor()
    try:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                            "'main' AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        # sessions change with every sign-in, an audit log with every denial: neither is data
        return {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
                if t != "sessions" and "audit" not in t}
    finally:
        cur.close()


def _clean(r) -> str:
    text = r.get_data(as_text=True)
    assert r.status_code < 500, (r.status_code, text[:300])
    for marker in DB_ERRORS:
        assert marker not in text, (marker, text[:500])
    return text


@pytest.fixture(scope="module")
def sql_client(app, demo):
    """The in-process app (conftest) signed in as the admin, who may open every page."""
    from test_access_suite import Graph
    client = app.server.test_client()
    from conftest import Auth
    auth = Auth(client)
    assert auth.login(demo.logins["admin"]).status_code == 302
    graph = Graph.of(app, client, demo)
    return auth, graph


PARAMS = ["period", "unit", "official", "rule", "kpi", "group", "start", "end", "units", "as_of", "page", "sort"]


@st.composite
def _page_request(draw, pages):
    path = draw(st.sampled_from(pages))
    params = draw(st.dictionaries(st.sampled_from(PARAMS), _META_TEXT, min_size=1, max_size=4))
    return path, params


def _sql_page_property(app, sql_client, before, path, params) -> None:
    auth, graph = sql_client
    with case("SQL metacharacters: URL parameters"):
        query = urlencode(params)
        _clean(auth.client.get(f"{path}?{query}"))
        _clean(auth.callback(graph.router(path, "?" + query)))
        for api in ("/api/kpis", "/api/v1/kpis", "/api/data-version"):
            _clean(auth.client.get(f"{api}?{query}"))
        assert _table_counts(app) == before


@st.composite
def _callback_request(draw, graph):
    key = draw(st.sampled_from(graph.keys))
    slots = graph.slots(key, ("value", "sort_by", "search", "pathname", "data", "clickData"))
    if not slots:
        return key, {}
    chosen = draw(st.lists(st.sampled_from(slots), min_size=1, max_size=3, unique=True))
    overrides = {}
    for part, n, cid, prop in chosen:
        meta = draw(_META_TEXT)
        if prop == "sort_by":
            value = [{"column_id": meta, "direction": draw(st.sampled_from(["asc", "desc", meta]))}]
        elif prop == "value":
            value = draw(st.sampled_from([meta, [meta], [graph.demo.dept, meta]]))
        elif prop == "search":
            value = "?" + urlencode({draw(st.sampled_from(PARAMS)): meta})
        elif prop == "pathname":
            value = draw(st.sampled_from(["/unit/", "/official/", "/okr/", "/"])) + quote(meta)
        elif prop == "clickData":
            value = {"points": [{"id": meta, "label": meta}]}
        else:  # page-args and other stores
            value = {"unit": draw(st.sampled_from([meta, graph.demo.dept])), "official": meta,
                     "period": draw(st.sampled_from([meta, graph.demo.period])), "prefilled": [meta]}
        overrides[(part, n)] = value
    return key, overrides


def _sql_callback_property(app, sql_client, before, request) -> None:
    auth, graph = sql_client
    key, overrides = request
    with case("SQL metacharacters: callback filters and sorts"):
        body = graph.body(key, overrides=overrides)
        _clean(auth.callback(body))
        assert _table_counts(app) == before


@pytest.fixture(scope="module")
def counts_before(app, sql_client):
    return _table_counts(app)


def _pages(demo):
    import dash
    out = []
    for page in dash.page_registry.values():
        path = page.get("path_template") or page["path"]
        out.append(path.replace("<unit>", demo.dept).replace("<official>", demo.official))
    return sorted(set(out))


def test_sql_metacharacters_in_url_parameters(app, demo, sql_client, counts_before):
    pages = _pages(demo)
    assert len(pages) >= 7, pages

    @_settings(60)
    @given(req=_page_request(pages))
    def run(req):
        _sql_page_property(app, sql_client, counts_before, *req)
    run()


@pytest.mark.long
def test_sql_metacharacters_in_url_parameters_long(app, demo, sql_client, counts_before):
    _LONG_RUN[0] = True

    @_settings(LONG)
    @given(req=_page_request(_pages(demo)))
    def run(req):
        _sql_page_property(app, sql_client, counts_before, *req)
    run()


def test_sql_metacharacters_in_callback_inputs(app, sql_client, counts_before):
    _, graph = sql_client

    @_settings(120)
    @given(req=_callback_request(graph))
    def run(req):
        _sql_callback_property(app, sql_client, counts_before, req)
    run()
    # Every sortable table gets every metacharacter as its sort column at least once.
    for key in graph.keys:
        for part, n, cid, prop in graph.slots(key, ("sort_by",)):
            for meta in META:
                _sql_callback_property(app, sql_client, counts_before, (key, {(part, n): [
                    {"column_id": meta, "direction": "asc"}]}))


@pytest.mark.long
def test_sql_metacharacters_in_callback_inputs_long(app, sql_client, counts_before):
    _LONG_RUN[0] = True
    _, graph = sql_client

    @_settings(LONG)
    @given(req=_callback_request(graph))
    def run(req):
        _sql_callback_property(app, sql_client, counts_before, req)
    run()
