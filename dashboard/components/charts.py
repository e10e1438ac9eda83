"""Plotly figures from metric results; pure functions (data, lang) -> figure, cached by callers.

Every series differs by colour *and* by line dash or marker or pattern, so no chart relies
on colour alone; missing rates are gaps, never zeros. Every axis has a title with its unit
(%, điểm, lượt đánh giá, tháng). Names from the data reach a figure only through
dashboard.text.for_plotly (plotly renders <a href> and <span style> from labels).
"""
from __future__ import annotations

import re
import textwrap

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from dash import dcc, html
from plotly.colors import sample_colorscale

from dashboard import formats, text
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
    "bar": _WHITE.data.bar, "scatter": _WHITE.data.scatter, "treemap": _WHITE.data.treemap,
    "heatmap": _WHITE.data.heatmap})
pio.templates.default = "thuocdo"

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}

# The unit each KPI is counted in, for axis titles: "Tỷ lệ đúng hạn (%)", "Lượt không hài lòng
# (lượt đánh giá)". Keys of dashboard/i18n.py (charts block).
KPI_UNITS = {
    "on_time_rate": "unit_percent", "completion_rate": "unit_percent", "satisfaction_rate": "unit_percent",
    "task_score": "unit_points70", "satisfaction_mean": "unit_points4", "score": "unit_points100",
    "tasks_due": "unit_tasks", "tasks_done": "unit_tasks", "tasks_on_time": "unit_tasks", "overdue_open": "unit_tasks",
    "ratings_count": "unit_ratings", "dissatisfied_count": "unit_ratings", "officials_total": "unit_people",
    "pending_evaluations": "unit_people", "rated_officials": "unit_people",
}
_PARENTHESIS = re.compile(r"\s*\([^)]*\)$")
TICK_FONT = 11
TICK_CHARS = 40  # a category's tick text, cut with "…" (its hover shows it whole)


def graph(graph_id, figure, height: int | None = None, style: dict | None = None) -> dcc.Graph:
    css = {**({"height": f"{height}px"} if height else {}), **(style or {})}
    return dcc.Graph(id=graph_id, figure=figure, config=GRAPH_CONFIG, **({"style": css} if css else {}))


def axis_title(kpi: str, lang: str) -> str:
    """A KPI's name with its unit, for an axis: "Điểm nhiệm vụ (điểm, tối đa 70)"."""
    name = _PARENTHESIS.sub("", t(kpi, lang))
    unit = KPI_UNITS.get(kpi)
    if unit is None:
        return name
    unit_text = t(unit, lang)
    return name if unit_text.lower() == name.lower() else f"{name} ({unit_text})"


def _title(text: str, colour: str | None = None) -> dict:
    font = {"size": 12} | ({"color": colour} if colour else {})
    return {"text": text, "font": font, "standoff": 6}


def _layout(fig: go.Figure | dict, lang: str, height: int = 300, months: bool = True, **extra) -> go.Figure:
    """The house style; `extra` layout keys win over it, and it over what `fig` set already.
    `months`: the x axis holds month starts. The legend sits above the plot, clear of the x
    axis's title. `fig` may be plain {"data": [...], "layout": {...}}: the figure is assembled
    here as data, without plotly's property-by-property validation, which cost 41 ms for the
    unit page's three trend charts against 1.3 ms (a first view of a unit after each commit);
    tests/test_charts.py validates every figure instead."""
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    data = list(spec.get("data", []))
    layout = _merged(spec.get("layout", {}), {
        "separators": formats.PLOTLY_SEPARATORS[lang], "height": height,
        "margin": dict(l=8, r=8, t=8, b=8), "font": dict(family="DejaVu Sans, Segoe UI, Roboto, sans-serif", size=12),
        "legend": dict(orientation="h", yanchor="bottom", y=1.01, x=0, traceorder="normal"),
        "hovermode": "x unified", **extra})
    for axis in _axes(layout, data):
        layout[axis] = _merged(layout.get(axis, {}), {"automargin": True, "tickfont": {"size": TICK_FONT}})
    if months:
        points = max((len(trace["x"]) for trace in data if trace.get("x") is not None), default=0)
        for axis in (a for a in _axes(layout, data) if a.startswith("x")):
            layout[axis] = _merged(layout[axis], {
                "type": "date", "tickformat": "%m/%y", "hoverformat": "%m/%Y", "dtick": "M1" if points <= 7 else "M2",
                "ticklabelmode": "instant", "title": _title(t("axis_month", lang))})
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _merged(base: dict, over: dict) -> dict:
    """`base` with `over`'s keys, nested dicts merged (as plotly's update_layout does)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _axes(layout: dict, data: list[dict]) -> list[str]:
    """The figure's x and y axes: "xaxis" and "yaxis" always, and any other the layout or a trace names."""
    named = {k for k in layout if re.fullmatch(r"[xy]axis\d*", k)}
    for trace in data:
        for letter in "xy":
            ref = trace.get(letter + "axis")
            if ref:
                named.add(letter + "axis" + ref[1:])
    return sorted(named | {"xaxis", "yaxis"})


def _months(df: pd.DataFrame) -> list[str]:
    """Month starts on a date axis: ticks read 10/26 and no label crowding at 13 months."""
    return [f"{p}-01" for p in df["period"]]


def _none(series: pd.Series) -> list:
    return [None if pd.isna(v) else float(v) for v in series]


def trend_rates(df: pd.DataFrame, lang: str) -> go.Figure:
    """On-time, completion and satisfaction rates over the months."""
    data = [{"type": "scatter", "x": _months(df), "y": _none(df[key]), "name": t(key, lang), "mode": "lines+markers",
             "connectgaps": False, "line": dict(color=palette.SERIES[i], dash=palette.LINE_DASHES[i], width=2.5),
             "marker": dict(symbol=palette.MARKERS[i], size=7), "hovertemplate": "%{y:.1%}"}
            for i, key in enumerate(("on_time_rate", "completion_rate", "satisfaction_rate"))]
    return _layout({"data": data}, lang, yaxis=dict(tickformat=".0%", rangemode="tozero", range=[0, 1.05],
                                                  title=_title(t("axis_rate", lang))))


def trend_score(df: pd.DataFrame, lang: str) -> go.Figure:
    """Task score (line, left axis, drawn on top) and tasks due (bars, right axis)."""
    data = [{"type": "bar", "x": _months(df), "y": df["tasks_due"].tolist(), "name": t("tasks_due", lang),
             "marker": dict(color="#c9d6e3", pattern=dict(shape="/", fgcolor="#9fb3c8")), "hovertemplate": "%{y:,.0f}"},
            {"type": "scatter", "x": _months(df), "y": _none(df["task_score"]), "name": t("task_score", lang),
             "mode": "lines+markers", "line": dict(color=palette.BLUE, width=2.5),
             "marker": dict(symbol="circle", size=7), "yaxis": "y2", "hovertemplate": "%{y:,.1f}"}]
    # The overlaying axis is drawn above the base one, so the line lives there.
    return _layout({"data": data}, lang,
                   yaxis=dict(side="right", showgrid=False, rangemode="tozero", tickformat=",d",
                              title=_title(axis_title("tasks_due", lang), "#5b6573")),
                   yaxis2=dict(overlaying="y", side="left", range=[0, 72], dtick=10,
                               title=_title(axis_title("task_score", lang), palette.BLUE)))


def rating_distribution(df: pd.DataFrame, lang: str) -> go.Figure:
    """Officials per rating each month (stacked, best at the bottom), patterns as a second cue."""
    data = [{"type": "bar", "x": _months(df), "y": df[rating].fillna(0).astype(int).tolist(), "name": t(rating, lang),
             "marker": dict(color=palette.RATING_COLOURS[rating],
                            pattern=dict(shape=palette.RATING_PATTERNS[rating], fgcolor="#ffffff", fgopacity=0.6)),
             "hovertemplate": "%{y:,.0f}"} for rating in RATINGS]
    return _layout({"data": data}, lang, barmode="stack",  # counts of people add up; rates never do
                   yaxis=dict(tickformat=",d", title=_title(t("axis_officials", lang))))  # 150.000, not 150k


# --- the organisation treemap ----------------------------------------------------------------

TREE_SCALE = (0.5, 1.0)  # on-time rates from 50 % (darkest) to 100 % (lightest); below 50 % stays darkest
TREE_MIN_TEXT = 11       # px; a box too small for a label this size shows none (its hover still does)


def scale_position(rate: float) -> float:
    low, high = TREE_SCALE
    return min(max((rate - low) / (high - low), 0.0), 1.0)


def scale_colours(rates) -> list[str]:
    """The treemap's colour of each on-time rate; palette.MISSING for none."""
    known = [r for r in rates if r is not None]
    # One call for every box: each call looks the scale up again (1.6 ms a box at city level).
    sampled = iter(sample_colorscale(palette.SEQUENTIAL, [scale_position(r) for r in known]) if known else [])
    return [palette.MISSING if r is None else next(sampled) for r in rates]


def scale_legend(lang: str):
    """The treemap's colour key: a gradient bar from 50 % to 100 %, plus the white hatch of 'no data'."""
    stops = ", ".join(sample_colorscale(palette.SEQUENTIAL, [i / 10 for i in range(11)]))
    low, high = (formats.rate(v, lang, 0) for v in TREE_SCALE)
    return html.Div([
        html.Span(f"≤ {low}", className="me-1"),
        html.Span(className="scale-bar", style={"background": f"linear-gradient(to right, {stops})"}),
        html.Span(high, className="ms-1 me-3"),
        html.Span(className="scale-missing", style={"backgroundColor": palette.MISSING}),
        html.Span(t("no_data", lang), className="ms-1"),
    ], className="scale-legend small text-muted d-flex align-items-center flex-wrap mt-1")


def _wrapped(name: str, width: int = 18) -> str:
    """A box label over lines of about `width` characters: plotly hides a label wider than its
    box ("Văn phòng Hội đồng nhân dân và Ủy ban nhân dân" in a phone's box), never wraps it."""
    name = text.plain(name, text.LABEL)
    return "<br>".join(for_plotly(line) for line in textwrap.wrap(name, width) or [name])


def treemap(sub: pd.DataFrame, lang: str) -> go.Figure:
    """The subtree as nested boxes sized by active officials, tinted by on-time rate.

    Readable at any size: one level below the unit is drawn (a click opens a unit), labels
    are never smaller than TREE_MIN_TEXT (a smaller box shows its name on hover only), and a box without data is white and hatched with the words "chưa có dữ liệu", unlike
    any colour of the scale (whose middle is teal, not grey) and unlike 0 % (the darkest)."""
    if sub.empty:
        return _layout(go.Figure(), lang, months=False)
    ids = sub["unit_id"].tolist()
    present = set(ids)
    parents = ["" if (p is None or pd.isna(p) or p not in present) else p for p in sub["parent_id"]]
    # One level below the top: deeper boxes would be drawn too small to read (and plotly keeps
    # undrawn boxes in the page); a unit's own page shows the level below it.
    tops = {u for u, p in zip(ids, parents) if not p}
    if any(p and p not in tops for p in parents):
        sub = sub[[not p or p in tops for p in parents]]
        return treemap(sub.assign(parent_id=[p for p in parents if not p or p in tops]), lang)
    # Boxes hold each unit's own officials; a parent's box grows with its children ("remainder").
    totals = dict(zip(ids, (int(v) for v in sub["officials_total"])))
    below: dict[str, int] = {}
    for unit_id, parent in zip(ids, parents):
        if parent:
            below[parent] = below.get(parent, 0) + totals[unit_id]
    own = [max(totals[u] - below.get(u, 0), 0) for u in ids]
    rates = _none(sub["on_time_rate"])
    colours = scale_colours(rates)
    hatch = [palette.MISSING_HATCH if r is None else "" for r in rates]
    text = [t("no_data", lang).lower() if r is None else formats.rate(r, lang) for r in rates]
    trace = {
        "type": "treemap", "ids": ids, "parents": parents, "labels": [_wrapped(n) for n in sub["name"]], "values": own,
        "branchvalues": "remainder",
        "marker": dict(colors=colours, line=dict(color=[palette.MISSING_INK if r is None else palette.BOX_LINE
                                                        for r in rates], width=1),
                       pattern=dict(shape=hatch, fgcolor=palette.MISSING_INK, size=8, solidity=0.15)),
        "text": text, "customdata": [[totals[u]] for u in ids],
        "texttemplate": "<b>%{label}</b><br>%{text}", "textfont": dict(size=13),
        "hovertemplate": "<b>%{label}</b><br>" + t("on_time_rate", lang) + ": %{text}<br>"
                         + t("officials_total", lang) + ": %{customdata[0]:,.0f}<extra></extra>",
        "maxdepth": 2, "tiling": dict(pad=3), "pathbar": dict(visible=False)}
    layout = {"separators": formats.PLOTLY_SEPARATORS[lang], "height": 380, "margin": dict(l=4, r=4, t=4, b=4),
              "uniformtext": dict(minsize=TREE_MIN_TEXT, mode="hide")}
    return go.Figure({"data": [trace], "layout": layout}, _validate=False)  # as _layout: validated in tests


# --- the official page -----------------------------------------------------------------------

def official_scores(df: pd.DataFrame, lang: str) -> go.Figure:
    """Monthly final evaluation score (bars, left axis 0–100, with its rating) and task score
    (line, right axis 0–70). Each has its own full scale, so a perfect 70 reaches the top as a
    perfect 100 does; the two axes share gridlines (every 20 points left, every 14 right)."""
    ratings = [r if isinstance(r, str) else "" for r in df.get("final_rating", pd.Series([None] * len(df)))]
    data = [{"type": "bar", "x": _months(df), "y": _none(df["final_score"]), "name": t("final_score", lang),
             "text": [for_plotly(r) for r in ratings], "textposition": "inside", "insidetextanchor": "end",
             "textangle": 0, "textfont": dict(color="#13263d", size=11),
             "marker": dict(color=palette.SKY, pattern=dict(shape="/", fgcolor="#ffffff")),
             "hovertemplate": "%{y:,.1f}/100 %{text}"},
            {"type": "scatter", "x": _months(df), "y": _none(df["task_score"]), "name": t("task_score", lang),
             "mode": "lines+markers", "line": dict(color=palette.BLUE, width=2.5), "cliponaxis": False,
             "marker": dict(symbol="circle", size=8), "yaxis": "y2", "hovertemplate": "%{y:,.1f}/70"}]
    return _layout({"data": data}, lang, uniformtext=dict(minsize=9, mode="hide"),
                   yaxis=dict(range=[0, 100], dtick=20, title=_title(t("axis_final_score", lang), "#1f6fa3")),
                   yaxis2=dict(overlaying="y", side="right", range=[0, 70], dtick=14, showgrid=False,
                               title=_title(axis_title("task_score", lang), palette.BLUE)))


def satisfaction(df: pd.DataFrame, lang: str) -> go.Figure:
    """Satisfaction rate (line, left axis, on top) with the number of ratings (bars, right axis)."""
    counts = df["ratings_count"].tolist()
    if not any(counts):
        return None  # nothing to draw: the caller shows a note instead of empty axes
    data = [{"type": "bar", "x": _months(df), "y": counts, "name": t("ratings_count", lang),
             "marker": dict(color="#e7d9c2", pattern=dict(shape=".", fgcolor="#b08a4a")), "hovertemplate": "%{y:,.0f}"},
            {"type": "scatter", "x": _months(df), "y": _none(df["satisfaction_rate"]),
             "name": t("satisfaction_rate", lang), "mode": "lines+markers",
             "line": dict(color=palette.ORANGE, width=2.5, dash="dash"), "marker": dict(symbol="diamond", size=8),
             "yaxis": "y2", "hovertemplate": "%{y:.1%}"}]
    count_axis = dict(side="right", showgrid=False, rangemode="tozero", tickformat=",d",
                      title=_title(axis_title("ratings_count", lang), "#8a6a35"))
    return _layout({"data": data}, lang, yaxis=count_axis,
                   yaxis2=dict(overlaying="y", side="left", tickformat=".0%", range=[0, 1.05], dtick=0.2,
                               title=_title(axis_title("satisfaction_rate", lang), "#9a6700")))


# --- explore and OKR -------------------------------------------------------------------------

def series_chart(df: pd.DataFrame, x: str, y: str, lang: str, *, percent: bool = False, kind: str = "bar",
                 y_label: str = "", color: str | None = None, x_label: str | None = None) -> go.Figure:
    """One measure by one category (explore, OKR history); bars or a line. Bars are one per
    row, side by side, never stacked: the rows are rates of different things. `y_label` names
    the measure with its unit, `x_label` the categories (default: the month, or the time)."""
    fig = go.Figure()
    if percent and y_label and "%" not in y_label:
        y_label = f"{y_label} (%)"
    x_label = x_label or t("axis_month" if x == "month" else "axis_time", lang)
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
        categories = [for_plotly(v) for v in df[x]]  # whole and distinct: one bar each, never merged
        fig.add_trace(go.Bar(y=categories, x=_none(df[y]), name=y_label, orientation="h",
                             marker=dict(color=palette.BLUE), hovertemplate="%{x:.1%}<extra></extra>" if percent
                             else "%{x:,.2~f}<extra></extra>"))
        # Ticks are cut so the bars keep room on a phone; the hover names the whole category.
        fig.update_yaxes(autorange="reversed", automargin=True, type="category", title=_title(x_label),
                         tickvals=categories, ticktext=[for_plotly(v, TICK_CHARS) for v in df[x]])
        fig.update_xaxes(tickformat=".0%" if percent else None, title=_title(y_label))
        if percent:
            fig.update_xaxes(range=[0, 1.0001])
        return _layout(fig, lang, height=max(260, 24 * len(df) + 110), months=False, showlegend=False,
                       hovermode="y unified", barmode="group")
    if percent:
        fig.update_yaxes(tickformat=".0%")
    fig.update_yaxes(title=_title(y_label))
    fig = _layout(fig, lang, height=340, months=(x == "month"), showlegend=bool(color))
    if x != "month":
        fig.update_xaxes(title=_title(x_label))
    return fig


def month_heatmap(df: pd.DataFrame, value: str, lang: str, *, rows: list[str], percent: bool,
                  z_label: str, y_label: str) -> go.Figure:
    """One KPI as a grid of `rows` (group labels, top first) × months: each cell tinted and
    labelled with its value; a cell without data stays white and reads "–". `df` holds the
    columns "group", "period" (YYYY-MM) and `value`."""
    months = sorted(df["period"].dropna().unique())
    grid = df.pivot_table(index="group", columns="period", values=value, aggfunc="first", dropna=False)
    grid = grid.reindex(index=rows, columns=months)
    z = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy()]
    shown = (lambda v: formats.rate(v, lang, 0)) if percent else (
        lambda v: formats.number(v, lang, 1 if value in ("task_score", "satisfaction_mean") else 0))
    cells = [[formats.DASH if v is None else shown(v) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=[formats.period(m) for m in months], y=[for_plotly(r) for r in rows], text=cells,
        texttemplate="%{text}", textfont=dict(size=11), colorscale=palette.SEQUENTIAL, hoverongaps=False,
        xgap=2, ygap=2,
        colorbar=dict(title=dict(text=z_label, side="right"), tickformat=".0%" if percent else ",~f", thickness=12),
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", title=_title(y_label))
    fig.update_xaxes(type="category", side="top", title=_title(t("axis_month", lang)))
    return _layout(fig, lang, height=max(240, 26 * len(rows) + 110), months=False, hovermode="closest",
                   plot_bgcolor="#ffffff")


def heatmap_width(df: pd.DataFrame) -> int:
    """The narrowest the month grid reads at: its labels, 46 px a month and the colour bar."""
    return 200 + 46 * df["period"].nunique() + 90
