"""Plotly figures from metric results; pure functions (data, lang) -> figure, cached by callers.

Every series differs by colour *and* by line dash or marker or pattern, so no chart relies
on colour alone; missing rates are gaps, never zeros. Names from the data reach a figure only
through dashboard.text.for_plotly (plotly renders <a href> and <span style> from labels).
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from dash import dcc
from plotly.colors import sample_colorscale

from dashboard import formats
from dashboard.text import for_plotly
from dashboard.components import palette
from dashboard.i18n import t
from dashboard.metrics.definitions import RATINGS

# The house template: plotly_white's layout and the defaults of the traces drawn here. Every
# figure copies and validates its template; the whole plotly_white (defaults for 40 trace
# types) made that two thirds of building a unit page's three trend charts (about 120 ms of
# a first view after each commit, bench/realtime.py), and doubled each figure's JSON.
_WHITE = pio.templates["plotly_white"]
pio.templates["thuocdo"] = go.layout.Template(layout=_WHITE.layout, data={
    "bar": _WHITE.data.bar, "scatter": _WHITE.data.scatter, "treemap": _WHITE.data.treemap})
pio.templates.default = "thuocdo"

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def graph(graph_id, figure, height: int | None = None) -> dcc.Graph:
    extra = {"style": {"height": f"{height}px"}} if height else {}
    return dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, **extra)


def _layout(fig: go.Figure, lang: str, height: int = 300, months: bool = True, **extra) -> go.Figure:
    """The house style; `extra` layout keys win over it. `months`: the x axis holds month starts."""
    fig.update_layout({
        "separators": formats.PLOTLY_SEPARATORS[lang], "height": height,
        "margin": dict(l=48, r=16, t=16, b=40), "font": dict(family="DejaVu Sans, Segoe UI, Roboto, sans-serif", size=12),
        "legend": dict(orientation="h", yanchor="top", y=-0.12, x=0, traceorder="normal"),
        "hovermode": "x unified", **extra})
    if months:
        points = max((len(trace.x) for trace in fig.data if getattr(trace, "x", None) is not None), default=0)
        fig.update_xaxes(type="date", tickformat="%m/%y", hoverformat="%m/%Y", dtick="M1" if points <= 7 else "M2",
                         ticklabelmode="instant")
    return fig


def _months(df: pd.DataFrame) -> list[str]:
    """Month starts on a date axis: ticks read 10/26 and no label crowding at 13 months."""
    return [f"{p}-01" for p in df["period"]]


def _none(series: pd.Series) -> list:
    return [None if pd.isna(v) else float(v) for v in series]


def trend_rates(df: pd.DataFrame, lang: str) -> go.Figure:
    """On-time, completion and satisfaction rates over the months."""
    fig = go.Figure()
    for i, key in enumerate(("on_time_rate", "completion_rate", "satisfaction_rate")):
        fig.add_trace(go.Scatter(
            x=_months(df), y=_none(df[key]), name=t(key, lang), mode="lines+markers", connectgaps=False,
            line=dict(color=palette.SERIES[i], dash=palette.LINE_DASHES[i], width=2.5),
            marker=dict(symbol=palette.MARKERS[i], size=7)))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", range=[0, 1.05])
    return _layout(fig, lang)


def trend_score(df: pd.DataFrame, lang: str) -> go.Figure:
    """Task score (line, left axis, drawn on top) and tasks due (bars, right axis)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=_months(df), y=df["tasks_due"].tolist(), name=t("tasks_due", lang),
                         marker=dict(color="#c9d6e3", pattern=dict(shape="/", fgcolor="#9fb3c8")),
                         hovertemplate="%{y:,.0f}"))
    fig.add_trace(go.Scatter(x=_months(df), y=_none(df["task_score"]), name=t("task_score", lang),
                             mode="lines+markers", line=dict(color=palette.BLUE, width=2.5),
                             marker=dict(symbol="circle", size=7), yaxis="y2", hovertemplate="%{y:,.1f}"))
    # The overlaying axis is drawn above the base one, so the line lives there.
    return _layout(fig, lang, yaxis=dict(side="right", showgrid=False, rangemode="tozero", tickformat=",d"),
                   yaxis2=dict(overlaying="y", side="left", range=[0, 72], dtick=10))


def rating_distribution(df: pd.DataFrame, lang: str) -> go.Figure:
    """Officials per rating each month (stacked, best at the bottom), patterns as a second cue."""
    fig = go.Figure()
    for rating in RATINGS:
        fig.add_trace(go.Bar(
            x=_months(df), y=df[rating].fillna(0).astype(int).tolist(), name=t(rating, lang),
            marker=dict(color=palette.RATING_COLOURS[rating],
                        pattern=dict(shape=palette.RATING_PATTERNS[rating], fgcolor="#ffffff", fgopacity=0.6)),
            hovertemplate="%{y:,.0f}"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=",d")  # 150.000, not 150k
    return _layout(fig, lang)


TREE_SCALE = (0.5, 1.0)  # on-time rates from 50 % (darkest) to 100 % (lightest); below 50 % stays darkest


def scale_position(rate: float) -> float:
    low, high = TREE_SCALE
    return min(max((rate - low) / (high - low), 0.0), 1.0)


def scale_legend(lang: str):
    """The treemap's colour key: a gradient bar from 50 % to 100 %, plus the grey of 'no tasks'."""
    from dash import html
    stops = ", ".join(sample_colorscale(palette.SEQUENTIAL, [i / 10 for i in range(11)]))
    low, high = (formats.rate(v, lang, 0) for v in TREE_SCALE)
    return html.Div([
        html.Span(f"≤ {low}", className="me-1"),
        html.Span(className="scale-bar", style={"background": f"linear-gradient(to right, {stops})"}),
        html.Span(high, className="ms-1 me-3"),
        html.Span(className="scale-missing", style={"backgroundColor": palette.MISSING}),
        html.Span(t("no_data", lang), className="ms-1"),
    ], className="scale-legend small text-muted d-flex align-items-center mt-1")


def treemap(sub: pd.DataFrame, lang: str) -> go.Figure:
    """The subtree as nested boxes sized by active officials, tinted by on-time rate."""
    if sub.empty:
        return _layout(go.Figure(), lang)
    ids = sub["unit_id"].tolist()
    present = set(ids)
    parents = ["" if (p is None or pd.isna(p) or p not in present) else p for p in sub["parent_id"]]
    # Boxes hold each unit's own officials; a parent's box grows with its children ("remainder").
    totals = dict(zip(ids, (int(v) for v in sub["officials_total"])))
    below: dict[str, int] = {}
    for unit_id, parent in zip(ids, parents):
        if parent:
            below[parent] = below.get(parent, 0) + totals[unit_id]
    own = [max(totals[u] - below.get(u, 0), 0) for u in ids]
    rates = _none(sub["on_time_rate"])
    # One call for every box: each call looks the scale up again (1.6 ms a box at city level).
    sampled = iter(sample_colorscale(palette.SEQUENTIAL, [scale_position(r) for r in rates if r is not None]))
    colours = [palette.MISSING if r is None else next(sampled) for r in rates]
    # No data is hatched as well as grey: the scale's middle (about 75 %) is a grey-brown
    # that the plain grey could be taken for.
    hatch = [palette.MISSING_HATCH if r is None else "" for r in rates]
    text = [formats.rate(r, lang) for r in rates]
    fig = go.Figure(go.Treemap(
        ids=ids, parents=parents, labels=[for_plotly(n) for n in sub["name"]], values=own, branchvalues="remainder",
        marker=dict(colors=colours, line=dict(color="#ffffff", width=1),
                    pattern=dict(shape=hatch, fgcolor="#8c8c8c", size=6, solidity=0.25)),
        text=text, customdata=[[totals[u]] for u in ids],
        texttemplate="<b>%{label}</b><br>%{text}",
        hovertemplate="<b>%{label}</b><br>" + t("on_time_rate", lang) + ": %{text}<br>"
                      + t("officials_total", lang) + ": %{customdata[0]:,.0f}<extra></extra>",
        maxdepth=3, tiling=dict(pad=2)))
    fig.update_layout(separators=formats.PLOTLY_SEPARATORS[lang], height=360, margin=dict(l=4, r=4, t=4, b=4))
    return fig


def official_scores(df: pd.DataFrame, lang: str) -> go.Figure:
    """Monthly task score (0–70) against the final evaluation score (0–100) with its rating."""
    fig = go.Figure()
    ratings = [r if isinstance(r, str) else "" for r in df.get("final_rating", pd.Series([None] * len(df)))]
    fig.add_trace(go.Bar(x=_months(df), y=_none(df["final_score"]), name=t("final_score", lang),
                         text=[for_plotly(r) for r in ratings], textposition="outside",
                         marker=dict(color=palette.SKY, pattern=dict(shape="/", fgcolor="#ffffff")),
                         hovertemplate="%{y:,.1f} %{text}"))
    fig.add_trace(go.Scatter(x=_months(df), y=_none(df["task_score"]), name=t("task_score", lang),
                             mode="lines+markers", line=dict(color=palette.BLUE, width=2.5),
                             marker=dict(symbol="circle", size=8), hovertemplate="%{y:,.1f}"))
    fig.update_yaxes(range=[0, 108])
    return _layout(fig, lang)


def satisfaction(df: pd.DataFrame, lang: str) -> go.Figure:
    """Satisfaction rate (line, left axis, on top) with the number of ratings (bars, right axis)."""
    fig = go.Figure()
    counts = df["ratings_count"].tolist()
    if not any(counts):
        return None  # nothing to draw: the caller shows a note instead of empty axes
    fig.add_trace(go.Bar(x=_months(df), y=counts, name=t("ratings_count", lang),
                         marker=dict(color="#e7d9c2", pattern=dict(shape=".", fgcolor="#b08a4a")),
                         hovertemplate="%{y:,.0f}"))
    fig.add_trace(go.Scatter(x=_months(df), y=_none(df["satisfaction_rate"]), name=t("satisfaction_rate", lang),
                             mode="lines+markers", line=dict(color=palette.ORANGE, width=2.5, dash="dash"),
                             marker=dict(symbol="diamond", size=8), yaxis="y2", hovertemplate="%{y:.1%}"))
    count_axis = dict(side="right", showgrid=False, rangemode="tozero", tickformat=",d")
    if not any(counts):
        count_axis["range"] = [0, 5]
    return _layout(fig, lang, yaxis=count_axis,
                   yaxis2=dict(overlaying="y", side="left", tickformat=".0%", range=[0, 1.05], dtick=0.2))


def series_chart(df: pd.DataFrame, x: str, y: str, lang: str, *, percent: bool = False, kind: str = "bar",
                 y_label: str = "", color: str | None = None) -> go.Figure:
    """One measure by one category (explore, OKR history); bars or a line."""
    fig = go.Figure()
    if color and color in df:
        for i, (name, part) in enumerate(df.groupby(color, sort=False)):
            fig.add_trace(go.Scatter(x=part[x].tolist(), y=_none(part[y]), name=for_plotly(name), mode="lines+markers",
                                     line=dict(color=palette.SERIES[i % len(palette.SERIES)],
                                               dash=palette.LINE_DASHES[i % len(palette.LINE_DASHES)]),
                                     marker=dict(symbol=palette.MARKERS[i % len(palette.MARKERS)], size=7)))
    elif kind == "line":
        fig.add_trace(go.Scatter(x=df[x].tolist(), y=_none(df[y]), name=y_label, mode="lines+markers",
                                 line=dict(color=palette.BLUE, width=2.5), marker=dict(size=8)))
    else:  # categories with long names: horizontal bars, first row on top, one line each
        fig.add_trace(go.Bar(y=[for_plotly(v) for v in df[x]], x=_none(df[y]), name=y_label, orientation="h",
                             marker=dict(color=palette.BLUE)))
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_xaxes(tickformat=".0%" if percent else None, title=y_label)
        return _layout(fig, lang, height=max(260, 24 * len(df) + 90), months=False, showlegend=False,
                       hovermode="y unified")
    if percent:
        fig.update_yaxes(tickformat=".0%")
    fig.update_yaxes(title=y_label)
    return _layout(fig, lang, height=340, months=(x == "month"), showlegend=bool(color))
