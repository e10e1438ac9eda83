"""Which months have data, and which one is still running, decided by the data's own clock.

The calendar on the server says little here: a demo built up to October is read in December,
and a source may be days behind. The data's clock is its newest record (a rating, a task
update, an evaluation event or a check-in). Its month is the running month ("đang cập nhật"):
tasks due later in it are not late yet and ratings keep coming, so it is not compared with a
whole month. A month after it holds only tasks due in the future: it is not offered.
"""
from __future__ import annotations

import threading
from datetime import datetime

# The newest record of each source that happens in time (identifiers from this list only).
_ACTIVITY = (("ratings", "rated_at"), ("tasks", "updated_at"), ("evaluations", "acted_at"),
             ("checkins", "checked_at"))
_SQL = "SELECT greatest(" + ", ".join(f"(SELECT max({c})::TIMESTAMP FROM {t})" for t, c in _ACTIVITY) + ")"

_memo: dict[tuple, datetime | None] = {}  # (database file, data version) -> clock
_lock = threading.Lock()


def data_clock(cur) -> datetime | None:
    """The time of the newest record (local time, as stored), or None without any; read once
    per data version (four max() over whole columns cost a few ms at city scale)."""
    key = cur.execute("""SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),
                                (SELECT coalesce(max(version), 0) FROM data_version)""").fetchone()
    with _lock:
        if key in _memo:
            return _memo[key]
    clock = cur.execute(_SQL).fetchone()[0]
    with _lock:
        if len(_memo) > 64:  # versions move all day; old ones are never asked again
            _memo.clear()
        _memo[key] = clock
    return clock


def running_month(cur) -> str | None:
    """'YYYY-MM' of the data's newest record: the month still filling up (None without data)."""
    clock = data_clock(cur)
    return clock.strftime("%Y-%m") if clock else None


def is_running(cur, period: str | None) -> bool:
    return period is not None and period == running_month(cur)
