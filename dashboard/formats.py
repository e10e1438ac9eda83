"""Numbers and dates as Vietnamese readers expect them: 1.234,5 · 85,3 % · 05/10/2026 · "–" for no value."""
from __future__ import annotations

import math
from datetime import date, datetime

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


def period(p: str | None) -> str:
    """'2026-10' -> '10/2026'"""
    if not p:
        return DASH
    return f"{p[5:7]}/{p[:4]}" if len(p) == 7 else p
