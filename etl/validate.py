"""Set-based validation: one SQL statement turns the `raw` table into typed rows with a reason.

For each contract column the reader's source type decides the parse: text from CSV,
JSON and XLSX is parsed here; typed Parquet columns (DATE, TIMESTAMP, numbers) are used
as they are, which keeps Parquet loads close to a bare COPY.
"""
from __future__ import annotations

from etl.kinds import RATINGS, Col, Kind
from etl.readers import RawFile

LOCAL_TZ = "Asia/Ho_Chi_Minh"
_ID = r"[A-Za-z0-9._-]{1,64}"
_OFFSET = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
_TS_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE")
_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE") + _INT_TYPES
# Characters no stored text may hold (data-contract.md, "Text limits"): C0 and C1 controls and
# the bidirectional overrides and isolates, which make "Phòng \u202eexe.gnaht" read as
# "Phòng thang.exe". Comments and notes may also hold tab, LF and CR.
_BAD_TEXT = r"[\x{0}-\x{1f}\x{7f}-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
_BAD_FREE_TEXT = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"

def s(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def clean_expr(col: Col, src: str, src_type: str) -> tuple[str, str]:
    """(SQL, type) of the source value, cleaned once: text trimmed with '' as NULL; typed
    values as they are, so a Parquet DATE is never turned into text and back."""
    base = src_type.upper()
    if src == "NULL":
        return "NULL", "VARCHAR"
    if base == "VARCHAR":
        return f"nullif(trim({src}), '')", "VARCHAR"
    typed_ok = {"date": ("DATE",) + _TS_TYPES, "timestamp": ("DATE",) + _TS_TYPES,
                "int": _INT_TYPES, "float": _FLOAT_TYPES, "bool": ("BOOLEAN",)}.get(col.type, ())
    if base in typed_ok or (col.type == "float" and base.startswith("DECIMAL")):
        return src, base
    return f"nullif(trim(CAST({src} AS VARCHAR)), '')", "VARCHAR"


def parse_expr(col: Col, src: str, src_type: str, absent: str | None = None) -> str:
    """SQL for the typed value of `col` from its cleaned value `src` (NULL when unreadable).
    `absent` is the condition that the row leaves the value out (then the default applies)."""
    t = col.type
    base = src_type.upper()
    if t == "date":
        if base == "DATE":
            return src
        if base in _TS_TYPES:
            return f"CAST({src} AS DATE)"
        v = src
        return (f"CASE WHEN regexp_full_match({v}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}') THEN try_cast({v} AS DATE) "
                f"WHEN regexp_full_match({v}, '\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}') "
                f"THEN CAST(try_strptime({v}, '%d/%m/%Y') AS DATE) END")
    if t == "timestamp":
        if base == "TIMESTAMP WITH TIME ZONE":
            return f"timezone({s(LOCAL_TZ)}, {src})"
        if base in _TS_TYPES or base == "DATE":
            return f"CAST({src} AS TIMESTAMP)"
        v = src
        return (f"CASE WHEN regexp_matches({v}, {s(_OFFSET)}) "
                f"THEN timezone({s(LOCAL_TZ)}, try_cast({v} AS TIMESTAMPTZ)) "
                f"WHEN regexp_full_match({v}, '\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}( \\d{{1,2}}:\\d{{2}}(:\\d{{2}})?)?') "
                f"THEN try_strptime({v}, ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y']) "
                f"WHEN regexp_full_match({v}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([T ]\\d{{1,2}}:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?)?') "
                f"THEN try_cast({v} AS TIMESTAMP) END")
    if t == "int":
        if base in _INT_TYPES:  # try_cast: a Parquet BIGINT past INTEGER's range is a bad_number, not a failed load
            expr = f"try_cast({src} AS INTEGER)"
        else:  # 3.0 from a spreadsheet is 3; 3.5 is not an integer
            v = src
            expr = (f"coalesce(try_cast({v} AS INTEGER), CASE WHEN try_cast({v} AS DOUBLE) = "
                    f"floor(try_cast({v} AS DOUBLE)) THEN try_cast(try_cast({v} AS DOUBLE) AS INTEGER) END)")
        if col.default is None:
            return expr
        # No column, or an empty cell: the default (quality_failures 0); a bad value stays bad.
        return str(col.default) if src == "NULL" else f"CASE WHEN {src} IS NULL THEN {col.default} ELSE {expr} END"
    if t == "float":
        if base in _FLOAT_TYPES or base.startswith("DECIMAL"):
            return f"CAST({src} AS DOUBLE)"
        v = src
        # a Vietnamese decimal comma (85,5) is read as 85.5
        return (f"coalesce(try_cast({v} AS DOUBLE), "
                f"CASE WHEN regexp_full_match({v}, '-?\\d+,\\d+') THEN try_cast(replace({v}, ',', '.') AS DOUBLE) END)")
    if t == "bool":
        # The default is for a file without the column; an empty cell is the "x/empty"
        # convention's no.
        default = str(bool(col.default)).upper()
        if src == "NULL":
            return default
        if base == "BOOLEAN":  # a typed null (Parquet) gives no value
            return f"coalesce({src}, {default})"
        v = f"lower(nfc_normalize({src}))"  # 'có' from Excel may arrive decomposed
        return (f"CASE WHEN {absent or 'FALSE'} THEN {default} WHEN {v} IS NULL THEN FALSE "
                f"WHEN {v} IN ('true', '1', 'có', 'x', 'yes') THEN TRUE "
                f"WHEN {v} IN ('false', '0', 'không', 'no') THEN FALSE END")
    if t in ("choice", "rating"):
        v = f"lower({src})" if t == "choice" else f"upper({src})"
        expr = f"nfc_normalize({v})"
        return f"coalesce({expr}, {s(col.default)})" if col.default is not None else expr
    if t == "text":
        return f"nfc_normalize({src})"
    return src  # id, period, objective_period: checked below, kept as text


def problems(col: Col, clean: str, val: str) -> list[tuple[str, str, str]]:
    """(condition of a bad row, reason, detail expression) for one column, in check order;
    `clean` is the cleaned source value, `val` the parsed one."""
    name = col.name
    shown = f"CAST({clean} AS VARCHAR)"
    out = []
    if col.required:
        out.append((f"{clean} IS NULL", "missing_value", s(f"{name} is required but empty")))
    present = f"{clean} IS NOT NULL"
    bad_read = {
        "id": ("bad_id", f"NOT regexp_full_match({val}, {s(_ID)})",
               "is not an id (1–64 letters, digits, '.', '_', '-')"),
        "date": ("bad_date", f"{val} IS NULL", "is not a date (use YYYY-MM-DD or dd/mm/yyyy)"),
        "timestamp": ("bad_timestamp", f"{val} IS NULL",
                      "is not a timestamp (use ISO 8601, e.g. 2026-10-05T08:30:00+07:00)"),
        "int": ("bad_number", f"{val} IS NULL", "is not a whole number"),
        "float": ("bad_number", f"{val} IS NULL", "is not a number"),
        "bool": ("bad_bool", f"{val} IS NULL", "is not a yes/no value (true/false, 1/0, có/không, x/empty)"),
        "choice": ("bad_choice", f"{val} NOT IN ({', '.join(s(c) for c in col.choices)})",
                   f"is not one of {', '.join(col.choices)}"),
        "rating": ("bad_rating", f"{val} NOT IN ({', '.join(s(r) for r in RATINGS)})",
                   "is not a rating (HTXS, HTT, HT or KHT)"),
        "period": ("bad_period", f"NOT regexp_full_match({val}, '\\d{{4}}-(0[1-9]|1[0-2])')",
                   "is not a month (YYYY-MM)"),
        "objective_period": ("bad_period", f"NOT regexp_full_match({val}, '\\d{{4}}(-Q[1-4])?')",
                             "is not a year or quarter (YYYY or YYYY-Qn)"),
    }.get(col.type)
    if bad_read:
        reason, cond, words = bad_read
        out.append((f"{present} AND ({cond})", reason,
                    f"{s(name + ' ')} || {s(chr(39))} || {shown} || {s(chr(39) + ' ' + words)}"))
    if col.type == "text":
        # Counted on the stored (NFC) text; the detail names the length or the character, never
        # repeats the text (it may be 10,000 characters, or the very thing that is not shown).
        out.append((f"length({val}) > {col.max_chars}", "text_too_long",
                    f"{s(name + ' has ')} || length({val}) || {s(f' characters; at most {col.max_chars:,}')}"))
        bad = s(_BAD_FREE_TEXT if col.free else _BAD_TEXT)
        out.append((f"regexp_matches({val}, {bad})", "bad_text",
                    f"{s(name + ' holds the control or bidirectional character ')} || "
                    f"printf('U+%04X', unicode(regexp_extract({val}, {bad}))) || {s('; send plain text')}"))
    if col.low is not None or col.high is not None:
        checks = []
        if col.low is not None:
            checks.append(f"{val} < {col.low}")
        if col.high is not None:
            checks.append(f"{val} > {col.high}")
        limits = f"{col.low if col.low is not None else '…'}–{col.high if col.high is not None else '…'}"
        out.append((f"{val} IS NOT NULL AND ({' OR '.join(checks)})", col.range_reason,
                    f"{s(name + ' ')} || {shown} || {s(' is outside ' + limits)}"))
    return out


def staging_sql(kind: Kind, raw: RawFile, carry: tuple[str, ...] = ()) -> str:
    """SELECT over `raw` giving line, the typed columns, _reason and _detail (NULL for good rows).
    Internal names start with '_' so they never meet a contract column (ratings have `reason`).
    The row's text is not carried: the quarantine takes it from `raw` for the few bad rows."""
    cleaned, parsed, conds = [], [], []
    for col in kind.columns:
        expr, ctype = clean_expr(col, raw.columns.get(col.name, "NULL"), raw.types.get(col.name, "VARCHAR"))
        cleaned.append(f"{expr} AS _c_{col.name}")
        absent = raw.absent.get(col.name)
        if absent:
            cleaned.append(f"{absent} AS _a_{col.name}")
        parsed.append(f"{parse_expr(col, f'_c_{col.name}' if expr != 'NULL' else 'NULL', ctype, f'_a_{col.name}' if absent else None)} AS {col.name}")
        conds.extend(problems(col, f"_c_{col.name}", col.name))
    for cond, reason, detail in kind.checks:
        conds.append((cond, reason, detail))
    # References to other tables: one hash join each, checked last (a replay can mend them).
    joins, found = [], []
    for i, ref in enumerate(r for r in kind.refs if r.table != kind.table):
        joins.append(f"LEFT JOIN {ref.table} _r{i} ON _r{i}.{ref.key} = p.{ref.column}")
        found.append(f"_r{i}.{ref.key} AS _k{i}")
        conds.append((f"{ref.column} IS NOT NULL AND _k{i} IS NULL", ref.reason,
                      f"{s(ref.column + ' ')} || {ref.column} || "
                      f"{s(' is not a known ' + ref.table[:-1].replace('_', ' ') + '; load it, then run `python -m etl replay`')}"))
    reason = "CASE " + " ".join(f"WHEN {c} THEN {s(r)}" for c, r, _ in conds) + " END"
    detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in conds) + " END"
    cols = ", ".join(c.name for c in kind.columns)
    passed = "".join(f", {c}" for c in carry)
    return (f"SELECT line{passed}, {cols}, _reason, "
            f"CASE WHEN _reason IS NOT NULL THEN {detail} END AS _detail FROM ("
            f"SELECT *, {reason} AS _reason FROM ("
            f"SELECT p.*{''.join(', ' + f for f in found)} FROM ("
            f"SELECT *, {', '.join(parsed)} FROM ("
            f"SELECT line{passed}, {', '.join(cleaned)} FROM raw)) p {' '.join(joins)}))")


def source_record_sql(kind: Kind, raw: RawFile) -> str:
    """The row's source values as a JSON object of text: what a replay parses again."""
    return "to_json(struct_pack(" + ", ".join(
        f"{c.name} := CAST({raw.columns.get(c.name, 'NULL')} AS VARCHAR)" for c in kind.columns) + "))"
