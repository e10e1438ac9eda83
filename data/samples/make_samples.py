"""Write the sample files that cannot be typed by hand: the workbooks, the Parquet files,
the empty file, the byte-for-byte copy and the decomposed (NFD) text.

    .venv/bin/python data/samples/make_samples.py

Deterministic: running it again writes the same bytes (fixed workbook dates and zip entry
times, no random data), so the committed files only change when this script does.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
LATER = HERE / "later"
FIXED_TIME = dt.datetime(2026, 11, 1, 8, 0, 0)

EVAL_HEADER = ["event_id", "unit_id", "period", "stage", "score", "rating", "actor_id", "acted_at", "note"]

# Collective (tập thể) evaluations for October 2026, as the evaluation software exports
# them: scores as numbers, acted_at as real Excel date-times.
UNIT_EVALUATIONS = [
    ["DGTT-2026-10-01", "SNV.TCCB", "2026-10", "self", 88, "HTT", "CB002",
     dt.datetime(2026, 11, 3, 8, 0), "Tập thể phòng tự đánh giá"],
    ["DGTT-2026-10-02", "SNV.TCCB", "2026-10", "final", 90, "HTXS", "CB001",
     dt.datetime(2026, 11, 7, 16, 0), "Giám đốc Sở quyết định xếp loại"],
    ["DGTT-2026-10-03", "PBD.MC", "2026-10", "self", 74, None, "CB007",
     dt.datetime(2026, 11, 4, 9, 30), None],
    ["DGTT-2026-10-04", "PBD.MC", "2026-10", "final", 72, "HTT", "CB007",
     dt.datetime(2026, 11, 7, 10, 0), "Còn để người dân chờ lâu"],
]

# A workbook of November self-assessments that was cut off in transit.
TRUNCATED_ROWS = [
    [f"DGTT-B13-{i:02d}", unit, "2026-11", "self", score, None, actor,
     dt.datetime(2026, 12, 2, 8 + i // 60, i % 60), "Tự đánh giá tháng 11"]
    for i, (unit, score, actor) in enumerate(
        [("SNV.TCCB", 86, "CB002"), ("SNV.CCHC", 81, "CB004"), ("PBD.MC", 77, "CB007")] * 20, start=1)
]

RATING_COLUMNS = ["rating_id", "official_id", "counter_id", "procedure_code", "rated_at", "level",
                  "reason", "comment"]


def _ratings_table(prefix: str, n: int) -> pa.Table:
    """n kiosk ratings of October 2026, typed as a kiosk vendor's Parquet export would be."""
    officials = ["CB005", "CB006"]
    levels = [4, 4, 3, 2, 4, 1, 3, 4]
    reasons = {2: "cho_lau", 1: "thai_do"}
    rows = []
    for i in range(n):
        level = levels[i % len(levels)]
        rows.append({
            "rating_id": f"{prefix}-{i + 1:04d}",
            "official_id": officials[i % 2],
            "counter_id": f"Q0{1 + i % 2}",
            "procedure_code": "1.001234" if i % 3 else "2.000908",
            "rated_at": dt.datetime(2026, 10, 1 + i % 28, 8 + i % 9, (7 * i) % 60),
            "level": level,
            "reason": reasons.get(level),
            "comment": "Đánh giá tại ki-ốt" if i % 5 == 0 else None,
        })
    schema = pa.schema([("rating_id", pa.string()), ("official_id", pa.string()),
                        ("counter_id", pa.string()), ("procedure_code", pa.string()),
                        ("rated_at", pa.timestamp("us")), ("level", pa.int8()),
                        ("reason", pa.string()), ("comment", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def _xlsx_bytes(header: list, rows: list[list]) -> bytes:
    """A one-sheet workbook with fixed document dates and fixed zip entry times."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Đánh giá tập thể"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cell in sheet["H"][1:]:
        cell.number_format = "dd/mm/yyyy hh:mm"
    book.properties.creator = "Phần mềm đánh giá"
    book.properties.created = FIXED_TIME
    raw = io.BytesIO()
    book.save(raw)
    # openpyxl stamps the document's modified date and every zip entry with the current
    # time; rewrite both with a fixed one.
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(fixed, data)
    return out.getvalue()


def _nfd_officials() -> str:
    """Officials as Excel on some machines saves them: every Vietnamese letter decomposed."""
    text = ("official_id,unit_id,full_name,position,is_head,active\n"
            "CB010,SNV.CCHC,Nguyễn Thị Ánh Tuyết,Chuyên viên,không,có\n"
            "CB003,SNV.TCCB,Lê Minh Đức,Chuyên viên,không,có\n")
    return unicodedata.normalize("NFD", text)


def _cp1258_tasks() -> bytes:
    """Tasks from an old system that still writes Windows-1258: ASCII rows read fine, the
    row with Vietnamese letters is not UTF-8."""
    header = ("task_id,official_id,title,origin,assigned_at,due_at,completed_at,status,"
              "quality_failures,updated_at\n")
    rows = ["NV-B17-0001,CB004,Bao cao tong hop thang 10,assigned,2026-10-01,2026-10-31,,open,0,"
            "2026-10-01 08:00:00\n",
            "NV-B17-0002,CB004,Báo cáo tổng hợp tháng 10,assigned,2026-10-01,2026-10-31,,open,0,"
            "2026-10-01 08:05:00\n",
            "NV-B17-0003,CB004,Kiem tra ho so luu tru,registered,2026-10-02,2026-10-30,,open,0,"
            "2026-10-02 08:00:00\n"]
    return header.encode("ascii") + b"".join(_cp1258(r) for r in rows)


def _cp1258(text: str) -> bytes:
    """Windows-1258 keeps base letters with a diacritic precomposed and adds tone marks."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            try:
                out += unicodedata.normalize("NFC", base + "".join(marks[:-1])).encode("cp1258")
                out += marks[-1].encode("cp1258")
            except UnicodeEncodeError:
                out += unicodedata.normalize("NFD", ch).encode("cp1258")
    return out


def build() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    files[HERE / "unit_evaluations.xlsx"] = _xlsx_bytes(EVAL_HEADER, UNIT_EVALUATIONS)
    whole = _xlsx_bytes(EVAL_HEADER, TRUNCATED_ROWS)
    files[BAD / "unit_evaluations_truncated.xlsx"] = whole[: len(whole) * 2 // 3]
    # Footer gone (the upload stopped early): not a Parquet file at all.
    good = _parquet_bytes(_ratings_table("DG-P14", 40))
    files[BAD / "ratings_corrupt.parquet"] = good[: len(good) // 2]
    # Footer intact, a data page overwritten: the file opens and fails while being read.
    damaged = bytearray(_parquet_bytes(_ratings_table("DG-P15", 40)))
    damaged[64:320] = b"\xab" * 256
    files[BAD / "ratings_damaged_page.parquet"] = bytes(damaged)
    files[BAD / "tasks_not_utf8.csv"] = _cp1258_tasks()
    files[BAD / "tasks_empty.csv"] = b""
    files[BAD / "tasks_resent.csv"] = (HERE / "tasks.csv").read_bytes()
    files[LATER / "officials_nfd.csv"] = _nfd_officials().encode("utf-8")
    return files


def main() -> None:
    for path, data in build().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path.relative_to(HERE)}  {len(data):,} bytes")


if __name__ == "__main__":
    main()
