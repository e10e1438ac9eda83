"""The report's 13-month trend as a small SVG, drawn here: WeasyPrint renders SVG itself, so the
report needs neither a browser nor plotly's kaleido. Every label is escaped; numbers come
formatted by the caller's function; a month without a value leaves a gap (never a 0)."""
from __future__ import annotations

from html import escape
from typing import Callable

from dashboard import formats
from dashboard.components.palette import BLUE, GREEN, ORANGE, PURPLE

COLOURS = (BLUE, ORANGE, GREEN, PURPLE)
DASHES = ("", "6 3", "2 3", "8 3 2 3")
MARKERS = ("circle", "square", "diamond", "triangle")
W, H = 680, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 150, 14, 44


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    if kind == "diamond":
        return f'<path d="M{x:.1f} {y - 4:.1f} L{x + 4:.1f} {y:.1f} L{x:.1f} {y + 4:.1f} L{x - 4:.1f} {y:.1f} Z" fill="{colour}"/>'
    if kind == "triangle":
        return f'<path d="M{x:.1f} {y - 4:.1f} L{x + 4:.1f} {y + 3:.1f} L{x - 4:.1f} {y + 3:.1f} Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'


def line_chart(periods: list[str], series: list[tuple[str, list]], y_max: float, y_title: str, x_title: str,
               tick: Callable[[float], str], ticks: int = 5) -> str:
    """An SVG of one line per (label, values) over `periods`, y from 0 to y_max, a legend on the
    right, axis titles with their units."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    step = plot_w / max(len(periods) - 1, 1)

    def x(i):
        return LEFT + i * step

    def y(v):
        return TOP + plot_h * (1 - min(max(v / y_max, 0), 1)) if y_max else TOP + plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
           f'font-family="DejaVu Sans, sans-serif" font-size="10">']
    for k in range(ticks + 1):
        v = y_max * k / ticks
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d0d4da" '
                   f'stroke-width="0.6"/>')
        out.append(f'<text x="{LEFT - 5}" y="{y(v) + 3:.1f}" text-anchor="end" fill="#374151">{escape(tick(v))}</text>')
    for i, period in enumerate(periods):
        out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" fill="#374151" '
                   f'font-size="8.5">{escape(formats.period(period))}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{H - 6}" text-anchor="middle" fill="#111827">'
               f'{escape(x_title)}</text>')
    out.append(f'<text transform="translate(13 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'fill="#111827">{escape(y_title)}</text>')
    for n, (label, values) in enumerate(series):
        colour, dash, marker = COLOURS[n % 4], DASHES[n % 4], MARKERS[n % 4]
        runs, run = [], []
        for i, v in enumerate(values):
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x(i), y(v)))
        if run:
            runs.append(run)
        for part in runs:
            if len(part) > 1:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in part)
                out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"'
                           + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            out.extend(_marker(marker, px, py, colour) for px, py in part)
        ly = TOP + 10 + 18 * n
        lx = LEFT + plot_w + 12
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="1.8"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        out.append(_marker(marker, lx + 11, ly, colour))
        out.append(f'<text x="{lx + 28}" y="{ly + 3.5}" fill="#111827">{escape(label)}</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#6b7280"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#6b7280"/>')
    out.append("</svg>")
    return "".join(out)
