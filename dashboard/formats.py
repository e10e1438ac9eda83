"""Numbers and dates as Vietnamese readers expect them: 1.234,5 · 85,3 % · 05/10/2026 · "–" for no value."""
from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

DASH = "–"
# Plotly's `separators`: decimal mark then thousands mark.
PLOTLY_SEPARATORS = {"vi": ",.", "en": ".,"}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x, lang: str = "vi", decimals: int = 0) -> str:
    """1.234.567 (vi) / 1,234,567 (en); "–" when there is no value."""
    if _missing(x):
        return DASH
    text = f"{x:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def rate(x, lang: str = "vi", decimals: int = 1) -> str:
    """A 0..1 rate as a percentage: 85,3 % (vi) / 85.3% (en); never 0 % for a missing rate."""
    if _missing(x):
        return DASH
    return number(100 * x, lang, decimals) + (" %" if lang == "vi" else "%")


def score(x, lang: str = "vi") -> str:
    return number(x, lang, 1)


def kpi(x, how: str, lang: str = "vi") -> str:
    """A KPI's value by its kind: "rate" (0..1), "score" (points, one decimal) or a count."""
    if how == "rate":
        return rate(x, lang)
    if how == "score":
        return score(x, lang)
    return number(x, lang)


def points(x, lang: str = "vi") -> str:
    """A difference of two rates, in percentage points."""
    if _missing(x):
        return DASH
    unit = " điểm %" if lang == "vi" else " pp"
    return number(100 * abs(x), lang, 1) + unit


def day(d) -> str:
    """dd/mm/yyyy"""
    if _missing(d) or d is None:
        return DASH
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    return d.strftime("%d/%m/%Y")


def moment(ts) -> str:
    """dd/mm/yyyy HH:MM"""
    if ts is None:
        return DASH
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts.strftime("%d/%m/%Y %H:%M")


def server_moment(ts, seconds: bool = False) -> str:
    """dd/mm/yyyy HH:MM in Hanoi time, of a time the server wrote from its own clock (loads,
    audit rows, heartbeats, deliveries: `now()` in SQL, `datetime.now()` in Python), which is
    the machine's local time, UTC on most servers. Data times (rated_at, due_at) are Hanoi time
    already: `moment`."""
    if ts is None or _missing(ts):
        return DASH
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    local = ts.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))  # a naive value is read as the machine's time
    return local.strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def period(p: str | None) -> str:
    """'2026-10' -> '10/2026'"""
    if not p:
        return DASH
    return f"{p[5:7]}/{p[:4]}" if len(p) == 7 else p


def period_label(p: str | None, lang: str = "vi") -> str:
    """Any period code as words: '2026-10' -> '10/2026', '2026-Q4' -> 'Quý 4/2026' (Q4 2026),
    '2026' -> 'Năm 2026' (Year 2026); anything else as it is."""
    if not p:
        return DASH
    if len(p) == 7 and p[4] == "-" and p[5] == "Q":
        return f"Quý {p[6]}/{p[:4]}" if lang == "vi" else f"Q{p[6]} {p[:4]}"
    if len(p) == 4 and p.isdigit():
        return f"Năm {p}" if lang == "vi" else f"Year {p}"
    return period(p)


def stamp(ts) -> str:
    """hh:mm dd/mm, the "data as of" time in the navigation."""
    if ts is None:
        return DASH
    return ts.strftime("%H:%M %d/%m")
