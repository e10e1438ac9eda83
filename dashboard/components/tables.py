"""Tables in Vietnamese number format: sortable DataTables with links, and plain small tables."""
from __future__ import annotations

import pandas as pd
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format, Group, Scheme

from dashboard import formats, text
from dashboard.components.palette import band
from dashboard.i18n import TEXT, t

FONT = '"DejaVu Sans", "Segoe UI", Roboto, "Noto Sans", system-ui, sans-serif'
MIN_WIDTHS = {"name": "190px", "full_name": "170px", "unit_name": "170px", "position": "130px", "band": "110px",
              "title": "220px", "group": "170px"}
# How each known column is shown: rate, score, count, text, link.
COLUMN_KIND = {
    "on_time_rate": "rate", "completion_rate": "rate", "satisfaction_rate": "rate",
    "task_score": "score", "satisfaction_mean": "score2", "score": "score",
    "officials_total": "count", "tasks_due": "count", "tasks_done": "count", "tasks_on_time": "count",
    "overdue_open": "count", "ratings_count": "count", "dissatisfied_count": "count",
    "rated_officials": "count", "pending_evaluations": "count", "violations": "count", "warnings": "count",
}


def number_format(kind: str, lang: str) -> Format:
    decimal, group = (",", ".") if lang == "vi" else (".", ",")
    base = dict(decimal_delimiter=decimal, group_delimiter=group, group=Group.yes, nully=formats.DASH)
    if kind == "rate":
        return Format(scheme=Scheme.percentage, precision=1, **base)
    if kind == "score":
        return Format(scheme=Scheme.fixed, precision=1, **base)
    if kind == "score2":
        return Format(scheme=Scheme.fixed, precision=2, **base)
    return Format(scheme=Scheme.fixed, precision=0, **base)


def column(key: str, lang: str, label: str | None = None) -> dict:
    kind = COLUMN_KIND.get(key)
    col = {"id": key, "name": label or t(f"col_{key}" if f"col_{key}" in TEXT else key, lang)}  # short headers
    if kind:
        col.update(type="numeric", format=number_format(kind, lang))
    return col


def link(label: str, href: str) -> str:
    """A markdown link cell: the name escaped and cut (text.markdown_link), so it can neither
    forge a link nor blank the real one; `href` is the app's own path."""
    return text.markdown_link(label, href)


def shown(row: dict, limit: int = text.LABEL) -> dict:
    """A table row for the screen: every text cell plain and cut to `limit` (dashboard/text.py);
    the export takes the rows before this, whole."""
    return {k: text.plain(v, limit) if isinstance(v, str) else v for k, v in row.items()}


def clean(value):
    """NaN/NaT -> None, so a missing rate shows as '–' and sorts last."""
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # not a scalar
        return value


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as dicts with None for missing values."""
    return [{k: clean(v) for k, v in row.items()} for row in df.to_dict("records")]


def sort_frame(df: pd.DataFrame, sort_by, default: tuple[str, bool]) -> pd.DataFrame:
    """Sorted by the table's sort column when it exists (else `default`: (column, descending)),
    missing values last; column names come only from the frame (no user text reaches SQL)."""
    column, descending = default
    if sort_by and isinstance(sort_by, list) and isinstance(sort_by[0], dict) and sort_by[0].get("column_id") in df.columns:
        column, descending = sort_by[0]["column_id"], sort_by[0].get("direction") != "asc"
    return df.sort_values([column], ascending=not descending, na_position="last", kind="stable")


def slice_page(ordered: pd.DataFrame, page: int | None, page_size: int) -> tuple[pd.DataFrame, int]:
    """Page `page` (0-based, clamped) of an ordered frame, and the number of pages."""
    pages = max(1, -(-len(ordered) // page_size))
    page = min(max(int(page or 0), 0), pages - 1)
    return ordered.iloc[page * page_size:(page + 1) * page_size], pages


def page_of(df: pd.DataFrame, page: int | None, page_size: int, sort_by, default: tuple[str, bool]) -> tuple[pd.DataFrame, int]:
    """One page of a server-side table, sorted (see sort_frame); and the number of pages."""
    return slice_page(sort_frame(df, sort_by, default), page, page_size)


def server_table(table_id: str, columns: list[dict], page_size: int, sort_by=None, data=None,
                 page_count: int = 1) -> dash_table.DataTable:
    """A table whose rows a callback serves one page at a time (large scopes: 150,000 officials);
    `data` is its first page when the layout already has it."""
    return datatable(table_id, columns, data or [], page_size=page_size, sort_by=sort_by,
                     page_action="custom", sort_action="custom", sort_mode="single", page_current=0,
                     page_count=page_count)


def band_column(rate, lang: str) -> str:
    symbol, name = band(rate)
    words = {"good": ("tốt", "good"), "fair": ("trung bình", "fair"), "poor": ("cần chú ý", "needs attention"),
             "none": ("chưa có", "no data")}[name]
    return f"{symbol} {words[0 if lang == 'vi' else 1]}"


def datatable(table_id: str, columns: list[dict], rows: list[dict], *, page_size: int = 15,
              sort_by=None, markdown: bool = True, **kwargs) -> dash_table.DataTable:
    """A native-sorted, paged table; `band` cells are tinted by their symbol word."""
    conditional = [
        {"if": {"filter_query": '{band} contains "▲"', "column_id": "band"}, "backgroundColor": "#dbeaf5", "color": "#084a75"},
        {"if": {"filter_query": '{band} contains "■"', "column_id": "band"}, "backgroundColor": "#fdf1d6", "color": "#6b4d00"},
        {"if": {"filter_query": '{band} contains "▼"', "column_id": "band"}, "backgroundColor": "#f9dccb", "color": "#8a3300"},
    ]
    paging = {"sort_action": "native", "page_action": "native" if len(rows) > page_size else "none"}
    paging.update({k: kwargs.pop(k) for k in ("sort_action", "page_action", "sort_mode", "page_current", "page_count")
                   if k in kwargs})
    return dash_table.DataTable(
        id=table_id, columns=columns, data=rows, sort_by=sort_by or [], page_size=page_size, **paging, markdown_options={"link_target": "_self"} if markdown else None,
        style_table={"overflowX": "auto"}, style_as_list_view=True,
        style_cell={"fontFamily": FONT, "fontSize": "0.9rem", "padding": "6px 8px", "textAlign": "right",
                    "whiteSpace": "normal", "height": "auto", "maxWidth": "320px"},
        style_cell_conditional=[{"if": {"column_id": c}, "minWidth": w} for c, w in MIN_WIDTHS.items()]
        + [{"if": {"column_id": c}, "textAlign": "left"}
                                for c in ("name", "full_name", "position", "unit_name", "band", "rule", "kind",
                                          "official", "unit", "title", "status", "group", "file", "reason",
                                          "detail", "message", "source", "raw")],
        style_header={"fontWeight": "600", "backgroundColor": "#eef2f7", "whiteSpace": "normal"},
        style_data_conditional=conditional + kwargs.pop("style_data_conditional", []),
        **kwargs,
    )


def simple_table(headers: list[str], rows: list[list], table_id: str | None = None, className: str = "") -> html.Table:
    """A small static table (cells may be components)."""
    return html.Table([
        html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
        html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
    ], className=f"table table-sm align-middle {className}", id=table_id)


def internal_link(label: str, href: str) -> dcc.Link:
    return dcc.Link(label, href=href)
