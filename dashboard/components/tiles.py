"""KPI tiles: the value in Vietnamese format and its change against the previous month."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import formats
from dashboard.i18n import t

# (KPI key, how to show it, +1 when higher is better / -1 when lower is better, compare with last month)
UNIT_TILES = (
    ("on_time_rate", "rate", +1, True),
    ("completion_rate", "rate", +1, True),
    ("overdue_open", "count", -1, False),  # counted at today's date for any period: no monthly change
    ("task_score", "score", +1, True),
    ("satisfaction_rate", "rate", +1, True),
    ("pending_evaluations", "count", -1, True),
    ("violations", "items", -1, True),
)
OFFICIAL_TILES = (
    ("on_time_rate", "rate", +1, True),
    ("completion_rate", "rate", +1, True),
    ("overdue_open", "count", -1, False),
    ("task_score", "score", +1, True),
    ("satisfaction_rate", "rate", +1, True),
    ("ratings_count", "count", +1, True),
    ("violations", "items", -1, True),
)


def _raw(kpis: dict, key: str, how: str):
    value = kpis.get(key)
    return len(value) if how == "items" else value


def _show(value, how: str, lang: str) -> str:
    if how == "rate":
        return formats.rate(value, lang)
    if how == "score":
        return formats.score(value, lang)
    return formats.number(value, lang)


def _delta(now, before, how: str, better: int, lang: str) -> html.Div:
    if now is None or before is None:
        return html.Div(t("no_prev", lang) if before is None and now is not None else "\u00a0",
                        className="kpi-delta delta-same")
    diff = now - before
    if abs(diff) < 1e-12:
        return html.Div(["▶ 0 ", html.Span(t("vs_prev", lang))], className="kpi-delta delta-same")
    arrow = "▲" if diff > 0 else "▼"
    good = (diff > 0) == (better > 0)
    amount = formats.points(diff, lang) if how == "rate" else (
        formats.score(abs(diff), lang) if how == "score" else formats.number(abs(diff), lang))
    verdict = ("tốt hơn" if lang == "vi" else "better") if good else ("kém hơn" if lang == "vi" else "worse")
    return html.Div([f"{arrow} {amount} ", html.Span(t("vs_prev", lang)),
                     html.Span(f" ({verdict})", className="visually-hidden")],
                    className="kpi-delta " + ("delta-better" if good else "delta-worse"))


def tiles(now: dict, before: dict | None, lang: str, spec=UNIT_TILES) -> dbc.Row:
    """One tile per KPI; `data-value` keeps the exact number for tests and screen readers."""
    cols = []
    for key, how, better, compare in spec:
        value = _raw(now, key, how)
        previous = _raw(before, key, how) if (before and compare) else None
        delta = _delta(value, previous, how, better, lang) if compare else html.Div(
            t("as_of_today", lang), className="kpi-delta delta-same")
        cols.append(dbc.Col(html.Div([
            html.Div(t(key, lang), className="kpi-label"),
            html.Div(_show(value, how, lang), className="kpi-value"),
            delta,
        ], className="kpi-tile", id=f"tile-{key}", **{"data-value": "" if value is None else repr(value)}),
            xs=6, md=4, xl=True))
    return dbc.Row(cols, className="g-2 kpi-row")
