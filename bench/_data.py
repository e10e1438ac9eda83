"""Synthetic contract files for the benchmarks (seeded, vectorised: no per-row Python)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def officials_table(n_officials: int, n_units: int = 1500) -> tuple[pa.Table, pa.Table]:
    units = pa.table({
        "unit_id": [f"U{i:04d}" for i in range(n_units)],
        "parent_id": [None] + [f"U{(i - 1) // 12:04d}" for i in range(1, n_units)],
        "name": [f"Đơn vị {i}" for i in range(n_units)],
    })
    rng = np.random.default_rng(7)
    ids = np.char.add("CB", np.char.zfill(np.arange(n_officials).astype(str), 6))
    officials = pa.table({
        "official_id": ids,
        "unit_id": np.char.add("U", np.char.zfill(rng.integers(0, n_units, n_officials).astype(str), 4)),
        "full_name": np.full(n_officials, "Nguyễn Văn An"),
        "is_head": np.zeros(n_officials, dtype=bool),
        "active": np.ones(n_officials, dtype=bool),
    })
    return units, officials


def tasks_table(n_rows: int, n_officials: int, month: int = 0, seed: int = 1, start: int = 0) -> pa.Table:
    """One monthly export of n_rows tasks assigned in month `month` (0 = 2025-11), with typed
    columns (DATE, TIMESTAMP) as an export would write them."""
    rng = np.random.default_rng(seed + month)
    base = np.datetime64("2025-11-01") + np.timedelta64(30 * month, "D")
    assigned = base + rng.integers(0, 30, n_rows).astype("timedelta64[D]")
    due = assigned + rng.integers(1, 30, n_rows).astype("timedelta64[D]")
    status_code = rng.choice(3, n_rows, p=[0.08, 0.9, 0.02])
    status = np.array(["open", "done", "cancelled"])[status_code]
    completed = due + rng.integers(-10, 6, n_rows).astype("timedelta64[D]")
    completed_mask = status_code != 1
    ids = np.char.add("T", np.char.zfill(np.arange(start, start + n_rows).astype(str), 9))
    officials = np.char.add("CB", np.char.zfill(rng.integers(0, n_officials, n_rows).astype(str), 6))
    updated = (np.where(completed_mask, due, completed).astype("datetime64[s]")
               + rng.integers(8 * 3600, 17 * 3600, n_rows).astype("timedelta64[s]"))
    return pa.table({
        "task_id": ids,
        "official_id": officials,
        "title": np.full(n_rows, "Xử lý hồ sơ"),
        "origin": np.where(rng.random(n_rows) < 0.7, "assigned", "registered"),
        "assigned_at": pa.array(assigned, pa.date32()),
        "due_at": pa.array(due, pa.date32()),
        "completed_at": pa.array(completed, pa.date32(), mask=completed_mask),
        "status": status,
        "quality_failures": rng.choice(4, n_rows, p=[0.9, 0.07, 0.02, 0.01]).astype(np.int32),
        "updated_at": pa.array(updated, pa.timestamp("s")),
    })


def write_parquet(table: pa.Table, path) -> None:
    pq.write_table(table, path, row_group_size=256_000)
