"""Sizes of the demo datasets and the calendar they cover."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from etl.demo import names


@dataclass(frozen=True)
class Scale:
    """How big a dataset is and which contract formats it exercises."""

    name: str
    officials: int
    departments: tuple[str, ...] | None     # department codes; None = all of names.DEPARTMENTS
    wards: tuple[str, ...] | None           # None = all 51 phường
    communes: tuple[str, ...] | None        # None = all 75 xã
    dept_offices: int                       # own offices per department besides Văn phòng
    commune_offices: tuple[str, ...]        # suffixes of names.COMMUNE_OFFICES
    schools: bool                           # schools under communes, service units under departments
    branches: int                           # one-stop branches of the city centre
    tasks_per_month: float                  # mean tasks per official and month
    ratings_per_day: float                  # mean ratings per one-stop official and workday
    mixed_formats: bool                     # exercise every contract format (demo) or Parquet (city)


SCALES = {
    # For tests: a handful of units, every kind of file, built in about a second.
    "tiny": Scale("tiny", 100, ("SNV", "STC"), ("Hoàn Kiếm", "Ba Đình"), ("Sóc Sơn",),
                  0, ("VP", "MC"), False, 1, 8.0, 2.0, True),
    "demo": Scale("demo", 2_000, None, None, None, 1, ("VP", "MC"), False, 2, 10.0, 1.3, True),
    "city": Scale("city", 150_000, None, None, None, 3, ("VP", "KT", "VHXH", "MC", "TYT"),
                  True, names.ONE_STOP_BRANCHES, 16.2, 11.8, False),
}

MONTHS = 13
SNAPSHOT_DAY = 15   # the monthly task/rating exports are taken on this day of the last month
UPDATE_DAY = 20     # the task update file is exported on this day of the last month
EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    return (d - EPOCH).days


def day_date(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


@dataclass(frozen=True)
class Timeline:
    """The 13 months ending at `until`, as day numbers (days since 1970-01-01)."""

    periods: tuple[str, ...]        # 'YYYY-MM'
    starts: tuple[int, ...]         # first day of each month
    ends: tuple[int, ...]           # first day of the next month
    snapshot: int                   # day of the monthly exports (tasks, ratings)
    update: int                     # day of the task update export

    @classmethod
    def ending(cls, until: str) -> "Timeline":
        year, month = (int(x) for x in until.split("-"))
        periods, starts, ends = [], [], []
        for back in range(MONTHS - 1, -1, -1):
            y, m = divmod(year * 12 + month - 1 - back, 12)
            first = dt.date(y, m + 1, 1)
            ny, nm = divmod(y * 12 + m + 1, 12)
            periods.append(f"{y:04d}-{m + 1:02d}")
            starts.append(day_number(first))
            ends.append(day_number(dt.date(ny, nm + 1, 1)))
        last = day_date(starts[-1])
        return cls(tuple(periods), tuple(starts), tuple(ends),
                   day_number(last.replace(day=SNAPSHOT_DAY)), day_number(last.replace(day=UPDATE_DAY)))

    @property
    def last(self) -> int:
        return len(self.periods) - 1

    def workdays(self, i: int, upto: int | None = None) -> np.ndarray:
        """Monday–Friday day numbers of month i, up to and including day `upto`."""
        days = np.arange(self.starts[i], self.ends[i] if upto is None else min(self.ends[i], upto + 1))
        return days[(days + 3) % 7 < 5]   # 1970-01-01 was a Thursday

    def open_days(self, i: int) -> np.ndarray:
        """Workdays of month i on which activity is visible in the exports."""
        return self.workdays(i, self.snapshot if i == self.last else None)
