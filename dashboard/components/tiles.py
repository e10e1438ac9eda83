"""KPI tiles: the value in Vietnamese format, its change against the previous month, its target
(met / near / missed, metrics/targets.py) and a link to the list behind the number."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import formats, text
from dashboard.i18n import t
from dashboard.metrics.targets import standing

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


def _target_text(target: dict, how: str, lang: str) -> str:
    value = target["value"]
    if how == "rate":
        shown = formats.rate(value, lang, 0 if abs(value * 100 - round(value * 100)) < 1e-9 else 1)
    else:
        shown = formats.number(value, lang, 0 if float(value).is_integer() else 1)
    return t("target_at_most" if target["direction"] == "down" else "target", lang, value=shown)


STANDING_ICONS = {"met": "✓", "near": "≈", "missed": "✗"}


def _target(key: str, value, how: str, target: dict | None, lang: str):
    """The target line under the value, and how the value stands against it (None: no target)."""
    if target is None:
        return None, None
    where = standing(value, target, key)
    source = t("target_from_okr", lang) if target["source"] == "okr" else t("target_from_setting", lang)
    tip = text.plain(target.get("title"), text.LINE) if target.get("title") else source
    return html.Div([
        html.Span(STANDING_ICONS.get(where, "–"), className="target-icon", **{"aria-hidden": "true"}),
        " " + _target_text(target, how, lang),
        html.Span(f" ({t('standing_' + where, lang)})" if where else "", className="visually-hidden"),
        html.Span(f" · {t('okr_short', lang)}" if target["source"] == "okr" else "", className="target-source"),
    ], className="kpi-target", title=tip), where


def tiles(now: dict, before: dict | None, lang: str, spec=UNIT_TILES, *, links: dict[str, tuple] | None = None,
          targets: dict[str, dict] | None = None, partial: bool = False) -> dbc.Row:
    """One tile per KPI; `data-value` keeps the exact number for tests and screen readers.
    `links` {kpi: (href, tooltip)}: the tile's label is a link to the list behind the number, and the
    whole tile answers the click (Bootstrap's stretched link); `targets` {kpi: target}
    (metrics/targets.py) adds the target and colours the tile against it."""
    cols = []
    for key, how, better, compare in spec:
        value = _raw(now, key, how)
        previous = _raw(before, key, how) if (before and compare) else None
        delta = _delta(value, previous, how, better, lang) if compare else html.Div(
            t("as_of_today", lang), className="kpi-delta delta-same")
        if partial and compare:  # a running month against a whole one would be a false alarm (metrics/periods.py)
            delta = html.Div(t("period_partial_delta", lang), className="kpi-delta delta-same delta-partial")
        href, tip = (links or {}).get(key) or (None, None)
        label = (dcc.Link(t(key, lang), href=href, className="kpi-label kpi-link stretched-link", title=tip)
                 if href else html.Div(t(key, lang), className="kpi-label"))
        target_line, where = _target(key, value, how, (targets or {}).get(key), lang)
        classes = "kpi-tile" + (" kpi-linked position-relative" if href else "") + (f" target-{where}" if where else "")
        extra = {"data-standing": where} if where else {}
        cols.append(dbc.Col(html.Div([
            label,
            html.Div(formats.kpi(value, how, lang), className="kpi-value"),
            delta,
            target_line,
        ], className=classes, id=f"tile-{key}", **{"data-value": "" if value is None else repr(value)}, **extra),
            xs=6, md=4, xl=True))
    return dbc.Row(cols, className="g-2 kpi-row")

