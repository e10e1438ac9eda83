"""Find units and officials by name or id, without accents ("thanh xuan" finds "Thanh Xuân",
"dong da" finds "Đống Đa"), inside a scope.

The folded names are computed once per change of the units and officials, into a small
in-memory DuckDB of this module's own (the names, folded, and the unit tree: about 20 MB for a
city's 150,000 officials). A search is one bound query there, a few milliseconds, instead of
folding 150,000 names in Python, or scanning them over again from the data file, at every
keystroke. The server's own connection is not touched: its settings are locked down.
"""
from __future__ import annotations

import threading
import unicodedata

import duckdb

MAX_WORDS = 6
MIN_CHARS = 2

# The same folding as `fold` below, in SQL (checked equal on a city's 300,000 names and titles).
_FOLD = "regexp_replace(trim(lower(strip_accents(replace(replace({x}, 'đ', 'd'), 'Đ', 'd')))), '\\s+', ' ', 'g')"
_INDEX_SQL = f"""
    SELECT kind, id, name, unit_id, parent_name, detail, active,
           {_FOLD.format(x="name")} AS folded, {_FOLD.format(x="id")} AS folded_id
    FROM (SELECT 'unit' AS kind, u.unit_id AS id, u.name, u.unit_id, p.name AS parent_name, u.kind AS detail,
                 TRUE AS active
          FROM units u LEFT JOIN units p ON p.unit_id = u.parent_id
          UNION ALL
          SELECT 'official', o.official_id, o.full_name, o.unit_id, u.name, o.position, o.active
          FROM officials o LEFT JOIN units u ON u.unit_id = o.unit_id)"""

# Every word in the name or the id (a fixed list of bound words, unused ones NULL), inside the
# scope; then a match on the id first, then at the start of the name, then at the start of a
# word, then anywhere; units before officials, active before inactive, then by name.
_WORD = "($w{i}::VARCHAR IS NULL OR contains(folded, $w{i}) OR contains(folded_id, $w{i}))"
_FIND_SQL = f"""
    WITH hits AS (
        SELECT * FROM names
        WHERE {" AND ".join(_WORD.format(i=i) for i in range(MAX_WORDS))}
          AND ($scope::VARCHAR IS NULL OR unit_id IN (SELECT descendant FROM tree WHERE ancestor = $scope))
          AND ($official::VARCHAR IS NULL OR (kind = 'official' AND id = $official)))
    SELECT kind, id, name, unit_id, parent_name, detail, active FROM hits
    ORDER BY kind = 'official', folded_id = $whole DESC, starts_with(folded, $whole) DESC,
             contains(' ' || folded, ' ' || $whole) DESC, NOT active, name, id
    LIMIT $limit"""


class _Index:
    """The in-memory copy and what it was built from; one per process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.conn: duckdb.DuckDBPyConnection | None = None  # opened at the first search, not at import
        self.key = None

    def cursor(self, cur) -> duckdb.DuckDBPyConnection:
        """A cursor on an index that is current for the database `cur` reads."""
        key = _key(cur)
        with self.lock:
            if self.conn is None:
                self.conn = duckdb.connect(":memory:", config={"threads": 1})  # small: one core is plenty
            if key != self.key:
                names = cur.sql(_INDEX_SQL).to_arrow_table()
                tree = cur.sql("SELECT ancestor, descendant FROM unit_closure").to_arrow_table()
                self.conn.register("names_in", names)
                self.conn.register("tree_in", tree)
                self.conn.execute("CREATE OR REPLACE TABLE names AS SELECT * FROM names_in")
                self.conn.execute("CREATE OR REPLACE TABLE tree AS SELECT * FROM tree_in")
                self.conn.unregister("names_in")
                self.conn.unregister("tree_in")
                self.key = key
            return self.conn.cursor()


_index = _Index()


def fold(value) -> str:
    """Lower case without diacritics, đ as d, runs of spaces as one: the form both sides of a
    search are compared in."""
    decomposed = unicodedata.normalize("NFD", str(value or "").replace("đ", "d").replace("Đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


def _key(cur) -> tuple:
    """What the index depends on: the database file and the last load of units or officials."""
    return cur.execute("""
        SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),
               (SELECT max(batch_id) FROM ingest_ledger WHERE kind IN ('units', 'officials')),
               (SELECT count(*) FROM units), (SELECT count(*) FROM officials)""").fetchall()[0]


def find(cur, query: str, *, scope_unit: str | None, official_id: str | None = None, limit: int = 12) -> list[dict]:
    """Units and officials whose name or id holds every word of `query` (folded), inside the
    subtree of `scope_unit` (None: everything); with `official_id`, that official alone."""
    words = fold(query).split()[:MAX_WORDS]
    if not words or sum(map(len, words)) < MIN_CHARS:
        return []
    params = {f"w{i}": (words[i] if i < len(words) else None) for i in range(MAX_WORDS)}
    search = _index.cursor(cur)
    try:
        rows = search.execute(_FIND_SQL, {**params, "whole": " ".join(words), "scope": scope_unit,
                                          "official": official_id, "limit": limit}).fetchall()
    finally:
        search.close()
    keys = ("kind", "id", "name", "unit_id", "parent_name", "detail", "active")
    return [dict(zip(keys, row)) for row in rows]
