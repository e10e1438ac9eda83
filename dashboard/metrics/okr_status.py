"""The status of a key result or an objective: on track, at risk, off track, or no data, from
its progress against the share of its objective's period that has gone by (docs/metrics.md,
"OKR status"). Pure functions of numbers and dates, so the rule is testable with fixed dates.
"""
from __future__ import annotations

from datetime import date

ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "on_track", "at_risk", "off_track", "none"
# Worst first: what a leader should read first. No data comes before on track: a key result
# nobody measures needs attention too.
STATUSES = (OFF_TRACK, AT_RISK, NO_DATA, ON_TRACK)
# Progress as a share of the elapsed share of the period: at least 3/4 of the plan is on
# track, at least half at risk, less off track (behind by more than a quarter of the plan
# needs attention; by more than half, it is in trouble).
ON_TRACK_RATIO = 0.75
AT_RISK_RATIO = 0.5


def period_days(objective_period: str) -> tuple[date, date]:
    """First day of an objective's period ('2026' or '2026-Q4') and the first day after it."""
    year = int(objective_period[:4])
    if len(objective_period) == 4:
        return date(year, 1, 1), date(year + 1, 1, 1)
    quarter = int(objective_period[-1])
    if objective_period[4:6] != "-Q" or not 1 <= quarter <= 4:
        raise ValueError(f"not an objective period: {objective_period!r}")
    first = date(year, 3 * quarter - 2, 1)
    return first, (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1))


def elapsed_share(objective_period: str, as_of: date) -> float:
    """The share of the period's days gone by at the end of `as_of` (0..1)."""
    first, after = period_days(objective_period)
    share = ((as_of - first).days + 1) / (after - first).days
    return min(max(share, 0.0), 1.0)


def month_as_of(period: str, today: date) -> date:
    """The day a month's values stand for: its last day, or today while it is running."""
    year, month = int(period[:4]), int(period[5:7])
    last = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
    return min(date.fromordinal(last), today)


def status(progress: float | None, expected: float) -> str:
    """One key result's (or objective's) status from its progress (0..1, None without a value)
    and the elapsed share of its period."""
    if progress is None:
        return NO_DATA
    if not expected:  # the period has not started: nothing is behind yet
        return ON_TRACK
    ratio = progress / expected
    return ON_TRACK if ratio >= ON_TRACK_RATIO else AT_RISK if ratio >= AT_RISK_RATIO else OFF_TRACK


def objective_progress(progresses) -> float | None:
    """An objective's progress: the mean of its key results' progress, those with a value."""
    known = [p for p in progresses if p is not None]
    return sum(known) / len(known) if known else None


def rank(value: str) -> int:
    """Sort key: 0 for the worst status."""
    return STATUSES.index(value)
