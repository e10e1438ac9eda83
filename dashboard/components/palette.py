"""Colours safe for colour-blind readers (Okabe–Ito), always paired with a shape or an arrow."""

BLUE, ORANGE, SKY, GREEN, YELLOW, VERMILLION, PURPLE, GREY = (
    "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#D55E00", "#CC79A7", "#6b7280")
BETTER, WORSE, SAME = BLUE, VERMILLION, GREY

# Ratings, best first: blue → sky → orange → vermillion, with fill patterns as a second cue.
RATING_COLOURS = {"HTXS": BLUE, "HTT": SKY, "HT": ORANGE, "KHT": VERMILLION}
RATING_PATTERNS = {"HTXS": "", "HTT": "/", "HT": ".", "KHT": "x"}
SERIES = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW)
LINE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "cross")
SEQUENTIAL = "Cividis"  # dark blue (low) to yellow (high); readable without colour vision
MISSING = "#d9d9d9"
MISSING_HATCH = "/"  # no data is hatched too, not told by its grey alone

# Quick read of an on-time rate in tables: symbol + tint (the symbol carries the meaning).
BANDS = ((0.9, "▲", "good"), (0.7, "■", "fair"), (0.0, "▼", "poor"))


def band(rate) -> tuple[str, str]:
    """(symbol, css class) for an on-time rate; ('–', 'none') without one."""
    if rate is None or rate != rate:
        return "–", "none"
    for floor, symbol, name in BANDS:
        if rate >= floor:
            return symbol, name
    return BANDS[-1][1], BANDS[-1][2]
