"""Schema migrations: an older database upgrades itself on open and fills new rollups."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.db import connect, migrations
from etl.errors import EtlError
from etl.kinds import KINDS
from etl.loader import load_paths

VECTORS = Path(__file__).parent / "vectors"


def _make_version_2(path):
    """A database as version 2 left it: no official_scores, no key_hash columns."""
    conn = connect(path)
    load_paths(conn, [VECTORS / n for n in json.loads((VECTORS / "expected.json").read_text())["load_order"]])
    expected = conn.execute("SELECT * FROM official_scores ORDER BY ALL").fetchall()
    conn.execute("DROP TABLE official_scores")
    for kind in (k for k in KINDS.values() if k.hashed_key):
        for index in ("official", "key"):  # DuckDB drops no column under an index
            conn.execute(f"DROP INDEX IF EXISTS {kind.table}_{index}")
        conn.execute(f"ALTER TABLE {kind.table} DROP COLUMN key_hash")
    conn.execute("DELETE FROM schema_migrations WHERE version >= 3")
    conn.close()
    return expected


def test_an_older_database_upgrades_and_fills_new_rollups(tmp_path):
    db = tmp_path / "old.duckdb"
    expected = _make_version_2(db)
    assert expected, "the vectors should give official scores"
    conn = connect(db)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == len(migrations())
    assert conn.execute("SELECT * FROM official_scores ORDER BY ALL").fetchall() == expected
    for kind in (k for k in KINDS.values() if k.hashed_key):
        rows, right = conn.execute(f"SELECT count(*), count(*) FILTER (WHERE key_hash = {kind.key_hash_sql()}) "
                                   f"FROM {kind.table}").fetchone()
        assert rows and rows == right, f"{kind.table}: key_hash not filled by the upgrade"


def test_read_only_open_of_an_older_database_says_how_to_upgrade(tmp_path):
    db = tmp_path / "old.duckdb"
    _make_version_2(db)
    with pytest.raises(EtlError, match=r"schema version 2.*python -m etl init"):
        connect(db, read_only=True)
