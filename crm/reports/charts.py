"""Bar charts drawn on the server: each row of a report's table carries its bar as a small
inline SVG, so the page and the WeasyPrint PDF show the same chart, without JavaScript.

The labels and the figures are the table's own text, not SVG text: WeasyPrint (70) lays SVG
text out one letter at a time (``weasyprint/svg/text.py``), which breaks Arabic joining and
order, while the table's text is shaped by Pango like the rest of the document.  Every bar
thus has its label, in the reader's language, and a screen reader reads the table (the
bars are hidden from it: the figure beside each says the same).

Right to left, a bar grows from the right edge of its cell towards the left.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

WIDTH = 200  # the longest bar, in CSS pixels
HEIGHT = 12
BAR_COLOUR = "#0b4f6c"
TRACK_COLOUR = "#e9ecef"


def bar(value: int | float | Decimal, top: int | float | Decimal, direction: str = "ltr") -> Markup:
    """The bar of ``value`` on a scale whose longest bar is ``top``."""
    length = WIDTH * float(value) / float(top) if top and float(top) > 0 else 0.0
    length = max(0.0, min(float(WIDTH), length))
    x = WIDTH - length if direction == "rtl" else 0.0
    return Markup(
        '<svg class="report-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'aria-hidden="true" focusable="false" data-value="{value}">'
        '<rect x="0" y="0" width="{w}" height="{h}" fill="{track}"/>'
        '<rect x="{x:.1f}" y="0" width="{length:.1f}" height="{h}" fill="{colour}"/></svg>'
    ).format(w=WIDTH, h=HEIGHT, value=value, track=TRACK_COLOUR, x=x, length=length, colour=BAR_COLOUR)
