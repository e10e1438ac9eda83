"""The "Cần chú ý" panel at the top of the overview and unit pages: at most a handful of items
(metrics/attention.py chooses them), each a link to where it can be dealt with, and links to
the full lists behind them."""
from __future__ import annotations

from dash import dcc, html

from dashboard import formats, text
from dashboard.i18n import t
from dashboard.metrics import lookups

ICONS = {"violation": "✖", "drop": "▼", "official": "●", "warning": "⚠"}


def unit_href(unit_id: str, period: str, **args) -> str:
    extra = "".join(f"&{k}={v}" for k, v in args.items() if v)
    return f"/unit/{unit_id}?period={period}{extra}"


def official_href(official_id: str, period: str) -> str:
    return f"/official/{official_id}?period={period}"


def alerts_href(unit_id: str, period: str, rule: str | None = None) -> str:
    return f"/alerts?period={period}&unit={unit_id}" + (f"&rule={rule}" if rule else "")


def officials_list_href(unit_id: str, period: str, which: str) -> str:
    """The unit page's officials table showing one list (metrics/attention.LISTS)."""
    return unit_href(unit_id, period, list=which) + "#officials"


def _rule_item(item: dict, unit_id: str, period: str, lang: str):
    words = t("n_violations" if item["kind"] == "violation" else "n_warnings", lang,
              n=formats.number(item["count"], lang))
    sub = (t("n_units_officials", lang, units=formats.number(len(item["units"]), lang),
             officials=formats.number(len(item["officials"]), lang)) if item["officials"]
           else t("n_units", lang, units=formats.number(len(item["units"]), lang)))
    return (alerts_href(unit_id, period, item["rule"]), [html.Strong(words + ": "), t("rule_" + item["rule"], lang)],
            sub)


def _drop_item(item: dict, period: str, lang: str):
    fell = t("fell_by", lang, kpi=t(item["kpi"], lang).lower(), points=formats.points(item["change"], lang))
    sub = t("from_to", lang, before=formats.rate(item["before"], lang), now=formats.rate(item["now"], lang))
    return unit_href(item["unit_id"], period), [html.Strong(text.label(item["name"])), ": " + fell], sub


def _lower_first(words: str) -> str:
    """A rule's name inside a sentence ("Xếp loại …" -> "xếp loại …"); acronyms keep their case."""
    return words[:1].lower() + words[1:] if words[1:2].islower() else words


def _official_item(item: dict, units: dict, period: str, lang: str):
    reasons = []
    if item["kht"]:
        reasons.append(t("rated_kht", lang))
    reasons += [_lower_first(t("rule_" + rule, lang)) for rule in item["violations"]]
    if item["overdue"]:
        reasons.append(t("n_overdue", lang, n=formats.number(item["overdue"], lang)))
    name = text.label(item["name"] or item["official_id"])
    unit = text.label(units.get(item["unit_id"], item["unit_id"] or ""))
    return (official_href(item["official_id"], period), [html.Strong(name), ": " + "; ".join(reasons)], unit)


def panel_body(cur, found: dict, lang: str) -> html.Div:
    """The panel's content from metrics.attention.attention(...)'s answer."""
    unit_id, period, items = found["unit_id"], found["period"], found["items"]
    units = lookups.unit_names(cur, [i["unit_id"] for i in items if i["section"] == "official"])
    entries = []
    for item in items:
        section = item["section"]
        if section in ("violation", "warning"):
            href, words, sub = _rule_item(item, unit_id, period, lang)
        elif section == "drop":
            href, words, sub = _drop_item(item, period, lang)
        else:
            href, words, sub = _official_item(item, units, period, lang)
        entries.append(html.Li([
            html.Span(ICONS[section], className="attention-icon", **{"aria-hidden": "true"}),
            html.Div([dcc.Link(words, href=href, className="attention-link"),
                      html.Div(sub, className="attention-sub small text-muted")]),
            html.Span(t("attention_" + section, lang), className="visually-hidden"),
        ], className=f"attention-item attention-{section}", **{"data-section": section}))
    total = sum(len(v) for v in found["sections"].values())
    more = []
    if found["rule_items"]:
        more.append(dcc.Link(t("all_rule_items", lang, n=formats.number(found["rule_items"], lang)),
                             href=alerts_href(unit_id, period), className="attention-all"))
    if found["overdue_officials"]:
        more.append(dcc.Link(t("all_overdue_officials", lang, n=formats.number(found["overdue_officials"], lang)),
                             href=officials_list_href(unit_id, period, "overdue"), className="attention-all"))
    if not entries:
        body = html.P(t("attention_none", lang, period=formats.period(period)),
                      className="text-muted fst-italic my-1 empty-note")
    else:
        body = html.Ul(entries, className="attention-list list-unstyled mb-0")
    hidden = total - len(entries)
    return html.Div([
        body,
        html.Div([html.Span(t("attention_more", lang, n=formats.number(hidden, lang)) if hidden > 0 else "",
                            className="small text-muted"), *more],
                 className="attention-footer d-flex flex-wrap gap-3 align-items-center mt-2") if more or hidden > 0
        else None,
    ], **{"data-items": len(entries)})
