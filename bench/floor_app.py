"""The floor for bench/pages.py: the least a Dash app of the unit page's shape costs to load.

A unit page (`/unit/<id>`) laid out as the dashboard's is, with static data: no database, no
login, no cache, no checks. Same dash and dash-bootstrap-components (this venv), same component
ids and classes (so bench/pages.py waits for it with the unit page's own readiness test), same
chart and table count, and the same server callbacks firing on a full load, in the same chain:

    depth 1  the pages router (_pages_location -> _pages_content)        dash pages
             the site search (its input is cleared when the path is set)  components/search.py
    depth 2  the period picker -> nav.href (fires when the picker mounts) components/shell.py
             7 panels on (page-args, data-version): attention, tiles,
             children, treemap, 3 trends, ranking page, rule items        components/unit_view.py
    depth 3  the treemap's clickData -> nav.href (fires when it mounts)   components/unit_view.py

11 requests to /_dash-update-component, 4 plotly charts (treemap, 2 line, 1 bar) and 2
DataTables (children, 12 rows with links; officials ranked, 15 rows, paged by a callback).

    python bench/floor_app.py --port 8051          # then open /unit/floor
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, clientside_callback, dash_table, dcc, html
from flask import send_file

BOOTSTRAP = Path(__file__).resolve().parent.parent / "dashboard" / "assets" / "00_bootstrap-5.3.6.min.css"
MONTHS = [f"2025-{m:02d}" for m in range(11, 13)] + [f"2026-{m:02d}" for m in range(1, 12)]  # 13, as the trends
TILES = ("officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score", "overdue_open",
         "satisfaction_rate", "pending_evaluations")
COLUMNS = ("name", "band", "officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score",
           "overdue_open", "satisfaction_rate", "pending_evaluations", "violations", "warnings")
rnd = random.Random(7)  # fixed data: every load gets the same bytes


# --- static content, built once ----------------------------------------------------------------

def _figures() -> dict[str, dict]:
    """Plain dicts, as the dashboard's cache keeps them (no figure validation per request)."""
    boxes = [f"Phường {i}" for i in range(60)]
    tree = go.Figure(go.Treemap(labels=["Thành phố"] + boxes, parents=[""] + ["Thành phố"] * 60,
                                values=[0] + [rnd.randint(50, 900) for _ in boxes],
                                marker={"colors": [0.5] + [rnd.random() for _ in boxes], "colorscale": "RdYlBu"}))
    rates = go.Figure([go.Scatter(x=MONTHS, y=[rnd.uniform(.6, .95) for _ in MONTHS], name=name, mode="lines+markers")
                       for name in ("đúng hạn", "hoàn thành", "hài lòng")])
    score = go.Figure([go.Scatter(x=MONTHS, y=[rnd.uniform(40, 70) for _ in MONTHS], name="điểm",
                                  mode="lines+markers"),
                       go.Scatter(x=MONTHS, y=[60] * 13, name="mục tiêu", mode="lines", line={"dash": "dash"})])
    ratings = go.Figure([go.Bar(x=MONTHS, y=[rnd.randint(5, 300) for _ in MONTHS], name=r)
                         for r in ("HTXS", "HTT", "HT", "KHT")]).update_layout(barmode="stack")
    for fig in (tree, rates, score, ratings):
        fig.update_layout(height=300, margin={"l": 8, "r": 8, "t": 8, "b": 8}, template="plotly_white")
    return {name: fig.to_plotly_json() for name, fig in
            (("tree", tree), ("rates", rates), ("score", score), ("ratings", ratings))}


FIGURES = _figures()


def _graph(graph_id: str, figure: dict) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure, config={"displaylogo": False, "responsive": True})


def _loading(child):
    return dcc.Loading(child, type="default", delay_show=400, overlay_style={"visibility": "visible"})


def _panel(title: str, body_id: str, min_height: int):
    return dbc.Card([dbc.CardHeader(html.H2(title, className="panel-title")),
                     dbc.CardBody(_loading(html.Div(id=body_id, style={"minHeight": f"{min_height}px"})))],
                    className="panel mb-3")


def _rows(n: int, first: str) -> list[dict]:
    rows = []
    for i in range(n):
        row = {c: round(rnd.uniform(0, 1), 3) if "rate" in c else rnd.randint(0, 900) for c in COLUMNS}
        rows.append({**row, first: f"[Đơn vị số {i}](/unit/floor-{i}?period=2026-11)", "band": "■ trung bình"})
    return rows


def _table(table_id: str, rows: list[dict], **paging) -> dash_table.DataTable:
    columns = [{"id": c, "name": c, **({"presentation": "markdown"} if c == "name" else {"type": "numeric"})}
               for c in COLUMNS]
    return dash_table.DataTable(id=table_id, columns=columns, data=rows, page_size=15, style_as_list_view=True,
                                markdown_options={"link_target": "_self"}, style_table={"overflowX": "auto"},
                                **paging)


def _tiles():
    return dbc.Row([dbc.Col(html.Div([html.Div(k, className="kpi-label"), html.Div(f"{rnd.randint(1, 99)},5 %",
                                                                                     className="kpi-value"),
                                      html.Div("▲ 1,2 điểm", className="kpi-delta")], className="kpi-tile"),
                            xs=6, md=4, xl=True) for k in TILES], className="g-2 kpi-row")


def _items(n: int, prefix: str):
    return html.Ul([html.Li([html.Span("⚠"), dcc.Link(f"{prefix} {i}", href=f"/unit/floor-{i}")]) for i in range(n)],
                   className="list-unstyled mb-0")


CONTENT = {
    "uv-attention": _items(8, "Cần chú ý"),
    "uv-tiles": _tiles(),
    "uv-children": _table("children-table", _rows(12, "name"), sort_action="native"),
    "uv-tree": _graph("uv-treemap", FIGURES["tree"]),
    "trends": (_graph("uv-rates-graph", FIGURES["rates"]), _graph("uv-score-graph", FIGURES["score"]),
               _graph("uv-ratings-graph", FIGURES["ratings"])),
    "uv-rules": _items(20, "Vi phạm"),
}
RANKING = _rows(15, "name")


# --- the app: shell, one page, its callbacks ----------------------------------------------------

app = dash.Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True, title="floor",
                update_title=None, serve_locally=True, external_stylesheets=["/floor/bootstrap.css"])


@app.server.route("/floor/bootstrap.css")
def bootstrap_css():  # the dashboard's own copy: same CSS, no network
    return send_file(BOOTSTRAP, mimetype="text/css")


def shell():
    nav = [dbc.NavItem(dbc.NavLink(name, href=path, id={"type": "navlink", "index": path}))
           for name, path in (("Tổng quan", "/"), ("OKR", "/okr"), ("Cảnh báo", "/alerts"))]
    return html.Div([
        dbc.Navbar(dbc.Container([dbc.NavbarBrand("Thước đo (floor)"), dbc.Nav(nav, navbar=True),
                                  dcc.Input(id="site-search", type="search", debounce=0.25),
                                  html.Div(id="site-search-results")], fluid=True), color="primary", dark=True),
        html.Main(dbc.Container(dash.page_container, fluid=True)),
        dcc.Location(id="nav", refresh="callback-nav"),
        dcc.Store(id="data-version", data=1),
        dcc.Interval(id="poll", interval=600_000),
    ])


def unit_page(unit=None, period="2026-11", **_):
    return html.Div([
        html.H1(f"Đơn vị {unit}"),
        dcc.Dropdown(id="period-picker", options=MONTHS, value=period, clearable=False, searchable=False),
        dcc.Store(id="page-args", data={"unit": unit, "period": period}),
        _panel("Cần chú ý", "uv-attention", 60),
        _loading(html.Div(id="uv-tiles", className="mb-3", style={"minHeight": "110px"})),
        dbc.Row([dbc.Col(_panel("Đơn vị trực thuộc", "uv-children", 200), xxl=7),
                 dbc.Col(_panel("Cây đơn vị", "uv-tree", 360), xxl=5)]),
        dbc.Row([dbc.Col(_panel(title, body_id, 300), xl=4) for title, body_id in
                 (("Xu hướng", "uv-trend-rates"), ("Điểm", "uv-trend-score"), ("Xếp loại", "uv-ratings"))]),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader([html.H2("Cán bộ"), html.Span(id="ranking-count")]), dbc.CardBody([
                dbc.RadioItems(id="ranking-list", value="all", inline=True,
                               options=[{"label": w, "value": w} for w in ("all", "overdue", "pending", "kht")]),
                html.P(id="ranking-sort-note"),
                _loading(_table("ranking-table", [], page_action="custom", sort_action="custom", page_current=0,
                                page_count=1)),
            ])], className="panel mb-3"), xxl=8),
            dbc.Col(_panel("Vi phạm", "uv-rules", 120), xxl=4),
        ]),
    ])


app.layout = shell
dash.register_page("floor_unit", path_template="/unit/<unit>", layout=unit_page, title="floor")


@callback(Output("site-search-results", "children"), Input("site-search", "value"),
          State("_pages_location", "search"), prevent_initial_call=True)
def search(query, _search):
    return [] if not query else [html.Div(query)]


clientside_callback("function(_) { return ''; }", Output("site-search", "value"),
                    Input("_pages_location", "pathname"), prevent_initial_call=True)
clientside_callback("function(search, ids) { return ids.map(id => id.index); }",
                    Output({"type": "navlink", "index": ALL}, "href"), Input("_pages_location", "search"),
                    State({"type": "navlink", "index": ALL}, "id"))


@callback(Output("nav", "href"), Input("period-picker", "value"), State("_pages_location", "pathname"),
          State("page-args", "data"), prevent_initial_call=True)
def go_to_period(period, pathname, args):
    if not period or period == (args or {}).get("period"):
        return dash.no_update
    return f"{pathname}?period={period}"


def _panel_callback(outputs: tuple[str, ...], content):
    """One callback per panel on (page-args, data-version), as dashboard/callbacks.py wires them."""
    @callback(*(Output(i, "children") for i in outputs), Input("page-args", "data"), Input("data-version", "data"))
    def fill(_args, _version):
        return content


for _ids, _content in ((("uv-attention",), CONTENT["uv-attention"]), (("uv-tiles",), CONTENT["uv-tiles"]),
                       (("uv-children",), CONTENT["uv-children"]), (("uv-tree",), CONTENT["uv-tree"]),
                       (("uv-trend-rates", "uv-trend-score", "uv-ratings"), CONTENT["trends"]),
                       (("uv-rules",), CONTENT["uv-rules"])):
    _panel_callback(_ids, _content)


@callback(Output("ranking-table", "data"), Output("ranking-table", "page_count"), Output("ranking-count", "children"),
          Output("ranking-sort-note", "children"),
          Input("page-args", "data"), Input("data-version", "data"), Input("ranking-table", "page_current"),
          Input("ranking-table", "sort_by"), Input("ranking-list", "value"))
def fill_ranking(_args, _version, _page, _sort_by, _which):
    return RANKING, 100, "1.500 cán bộ", "Sắp xếp: tỷ lệ đúng hạn, thấp nhất trước"


@callback(Output("nav", "href", allow_duplicate=True), Input("uv-treemap", "clickData"),
          State("page-args", "data"), prevent_initial_call=True)
def open_from_tree(click, _args):
    return dash.no_update if not click else "/unit/floor"


def main(argv=None) -> int:
    import waitress

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8051)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args(argv)
    print(f"floor: http://{args.host}:{args.port}/unit/floor", flush=True)
    waitress.serve(app.server, host=args.host, port=args.port, threads=args.threads, _quiet=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
