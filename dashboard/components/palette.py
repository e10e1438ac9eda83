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
# Rates on a scale (treemap, explore heatmap): dark purple (low) through teal to yellow (high),
# readable without colour vision, and with no grey anywhere (Cividis's grey middle, about 75 %,
# read as "no data").
SEQUENTIAL = "Viridis"
# No data: white, hatched and outlined in grey, and labelled; unlike every colour of the scale
# and unlike 0 % (the scale's darkest).
MISSING = "#ffffff"
MISSING_HATCH = "/"
MISSING_INK = "#6b7280"   # the hatch and the outline of a box without data
BOX_LINE = "#ffffff"      # the outline of every other box

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
