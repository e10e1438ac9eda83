"""The monthly report as HTML (names and titles from the data escaped, numbers formatted the
Vietnamese way) and as an A4 PDF through WeasyPrint."""
from __future__ import annotations

from html import escape
from pathlib import Path

from dashboard import formats, text
from dashboard.i18n import t
from dashboard.metrics.rules import VIOLATION_RULES
from dashboard.reports import charts

CSS = Path(__file__).with_name("report.css")


def _e(value, limit: int = text.LABEL) -> str:
    """Data text as HTML: plain (no controls, cut), then escaped."""
    return escape(text.plain(value, limit))


def _delta(tile: dict, lang: str, as_of: str) -> tuple[str, str]:
    """(text, tone) of a tile's change against the previous month."""
    now, before, how, better = tile["value"], tile["before"], tile["how"], tile["better"]
    if tile["key"] == "overdue_open":
        return t("report_as_of", lang, day=formats.day(as_of)), "none"
    if now is None or before is None:
        return t("report_no_compare", lang), "none"
    diff = now - before
    if abs(diff) < 1e-12:
        return "= " + t("report_unchanged", lang), "same"
    amount = (formats.points(diff, lang) if how == "rate" else
              formats.number(abs(diff), lang, 1 if how == "score" else 0))
    tone = "same" if better == 0 else ("better" if (diff > 0) == (better > 0) else "worse")
    return f"{'▲' if diff > 0 else '▼'} {amount}", tone


def _unit_label(name, parent) -> str:
    """'Văn phòng (Sở Nội vụ)': a unit's name with its parent's, since many share a name."""
    return _e(name) + (f' <span class="muted">({_e(parent)})</span>' if parent else "")


def tiles_html(data: dict, lang: str) -> str:
    cells = []
    for tile in data["tiles"]:
        change, tone = _delta(tile, lang, data["as_of"])
        cells.append(f'<div class="tile"><div class="label">{escape(t(tile["key"], lang))}</div>'
                     f'<div class="value">{escape(formats.kpi(tile["value"], tile["how"], lang))}</div>'
                     f'<div class="delta {tone}">{escape(change)}</div></div>')
    return (f'<h2>{escape(t("report_tiles", lang))}</h2><p class="hint">'
            f'{escape(t("report_vs", lang, period=formats.period(data["previous"])))}</p>'
            f'<div class="tiles">{"".join(cells)}</div>')


def trend_html(data: dict, lang: str) -> str:
    rows = data["trend"]
    periods = [r["period"] for r in rows]
    rates = charts.line_chart(
        periods, [(t(k, lang), [r[k] for r in rows]) for k in ("on_time_rate", "completion_rate", "satisfaction_rate")],
        1.0, t("report_axis_rate", lang), t("report_axis_month", lang), lambda v: formats.rate(v, lang, 0))
    score = charts.line_chart(periods, [(t("task_score", lang), [r["task_score"] for r in rows])], 70.0,
                              t("report_axis_score", lang), t("report_axis_month", lang),
                              lambda v: formats.number(v, lang))
    return (f'<h2>{escape(t("report_trend", lang))}</h2>'
            f'<div class="chart">{rates}</div><div class="chart">{score}</div>')


def _band(rate) -> str:
    from dashboard.components.palette import band
    symbol, tone = band(rate)
    return f'<span class="band {tone}">{escape(symbol)}</span>'


def children_html(data: dict, lang: str) -> str:
    children = data["children"]
    head = f'<h2>{escape(t("report_children", lang))}</h2>'
    if not children["rows"]:
        return head + f'<p class="empty">{escape(t("report_no_children", lang))}</p>'
    cols = ("officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score", "overdue_open",
            "satisfaction_rate", "pending_evaluations", "violations", "warnings")
    kinds = {"on_time_rate": "rate", "completion_rate": "rate", "satisfaction_rate": "rate", "task_score": "score"}
    body = []
    for r in children["rows"]:
        cells = "".join(f'<td class="num">{escape(formats.kpi(r[c], kinds.get(c, "count"), lang))}</td>' for c in cols)
        body.append(f'<tr><td>{_band(r["on_time_rate"])} {_e(r["name"])}</td>{cells}</tr>')
    more = ""
    if children["total"] > len(children["rows"]):
        more = (f'<p class="hint">{escape(t("report_more_units", lang, n=formats.number(children["total"] - len(children["rows"]), lang)))}</p>')
    header = "".join(f"<th>{escape(t(c, lang))}</th>" for c in ("name", *cols))
    return (head + f'<p class="hint">{escape(t("report_worst_first", lang))}</p>'
            f'<table class="grid"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}')


def rules_html(data: dict, lang: str) -> str:
    rules = data["rules"]
    head = f'<h2>{escape(t("rule_items", lang))}</h2>'
    if not rules["total"]:
        return head + f'<p class="empty">{escape(t("no_rule_items", lang, period=formats.period(data["period"])))}</p>'
    summary = escape(t("report_rule_counts", lang, v=formats.number(rules["violations"], lang),
                       w=formats.number(rules["warnings"], lang)))
    per_rule = "".join(f'<li class="{"violation" if rule in VIOLATION_RULES else "warning"}">'
                       f'{escape(t(f"rule_{rule}", lang))}: {escape(formats.number(n, lang))}</li>'
                       for rule, n in rules["per_rule"])
    body = []
    for item in rules["items"]:
        who = _e(item["official_name"] or item["official_id"]) if item["official_id"] else ""
        body.append(f'<tr class="{item["kind"]}"><td>{escape(t(item["kind"], lang))}</td>'
                    f'<td>{escape(t("rule_" + item["rule"], lang))}</td>'
                    f'<td>{_e(item["unit_name"] or item["unit_id"])}</td><td>{who}</td></tr>')
    more = ""
    if rules["total"] > len(rules["items"]):
        more = f'<p class="hint">{escape(t("report_more_items", lang, n=formats.number(rules["total"] - len(rules["items"]), lang)))}</p>'
    header = "".join(f"<th>{escape(t(k, lang))}</th>" for k in ("report_kind", "report_rule", "nav_unit", "nav_official"))
    return (head + f'<p>{summary}</p><ul class="per-rule">{per_rule}</ul>'
            f'<table class="grid"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}')


def attention_html(data: dict, lang: str) -> str:
    head = f'<h2>{escape(t("report_attention", lang))}</h2>'
    if not data["attention"]:
        return head + f'<p class="empty">{escape(t("report_no_attention", lang))}</p>'
    body = []
    for p in data["attention"]:
        reasons = []
        if p["kht"]:
            reasons.append(t("report_kht", lang))
        reasons.extend(t(f"rule_{rule}", lang) for rule in p["violations"])
        if p["overdue"]:
            reasons.append(t("report_overdue_n", lang, n=formats.number(p["overdue"], lang)))
        body.append(f'<tr><td>{_e(p["name"] or p["official_id"])}</td>'
                    f'<td>{_unit_label(p["unit_name"] or p["unit_id"], p.get("unit_parent"))}</td>'
                    f'<td>{escape(" · ".join(reasons))}</td></tr>')
    header = "".join(f"<th>{escape(t(k, lang))}</th>" for k in ("nav_official", "nav_unit", "report_reason"))
    return (head + f'<p class="hint">{escape(t("report_attention_hint", lang, day=formats.day(data["as_of"])))}</p>'
            f'<table class="grid"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def okr_html(data: dict, lang: str) -> str:
    head = f'<h2>{escape(t("report_okr", lang))}</h2>'
    okr = data["okr"]
    if not okr["rows"]:
        return head + f'<p class="empty">{escape(t("report_no_okr", lang))}</p>'
    body = []
    for o in okr["rows"]:
        body.append(f'<tr><td><span class="status {o["status"]}">{escape(t("okr_" + o["status"], lang))}</span></td>'
                    f'<td>{_e(o["title"], text.LINE)}</td><td>{_e(o["unit_name"])}</td>'
                    f'<td class="num">{escape(formats.rate(o["progress"], lang, 0))}</td>'
                    f'<td class="num">{escape(formats.rate(o["elapsed"], lang, 0))}</td></tr>')
    more = ""
    if okr["total"] > len(okr["rows"]):
        more = f'<p class="hint">{escape(t("report_more_okr", lang, n=formats.number(okr["total"] - len(okr["rows"]), lang)))}</p>'
    header = "".join(f"<th>{escape(t(k, lang))}</th>" for k in
                     ("report_status", "report_objective", "nav_unit", "report_progress", "report_elapsed"))
    return (head + f'<p class="hint">{escape(t("report_okr_hint", lang))}</p>'
            f'<table class="grid"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}')


def to_html(data: dict, lang: str = "vi") -> str:
    """The whole report as one HTML document (A4, styles from report.css)."""
    unit = data["unit"]
    title = t("report_title", lang, period=formats.period(data["period"]))
    subtitle = " · ".join(x for x in (_unit_label(unit["name"], unit["parent"]), escape(unit["unit_id"])) if x)
    meta = escape(t("report_meta", lang, at=formats.moment(data["generated_at"]), day=formats.day(data["as_of"])))
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<style>{CSS.read_text(encoding="utf-8")}</style></head><body>'
            f'<header><div class="brand">{escape(t("app_name", lang))}</div><h1>{escape(title)}</h1>'
            f'<div class="unit">{subtitle}</div><div class="meta">{meta}</div></header>'
            f'<section>{tiles_html(data, lang)}</section>'
            f'<section>{trend_html(data, lang)}</section>'
            f'<section>{children_html(data, lang)}</section>'
            f'<section>{rules_html(data, lang)}</section>'
            f'<section>{attention_html(data, lang)}</section>'
            f'<section>{okr_html(data, lang)}</section>'
            '</body></html>')


def to_pdf(html: str) -> bytes:
    """The HTML as an A4 PDF (WeasyPrint; fonts through pango and fontconfig)."""
    from weasyprint import HTML
    return HTML(string=html, base_url=str(CSS.parent)).write_pdf()
