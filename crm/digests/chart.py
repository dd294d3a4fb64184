"""A small bar chart of the pipeline by stage, drawn server-side for the digest email.

The image holds bars and figures only: stage names stay in the HTML table beside it, so
no Arabic shaping is needed and screen readers get real text.  For right-to-left readers
the bars run from right to left, in the same order as the table reads.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#198754")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WIDTH, HEIGHT, PAD = 480, 180, 24
CHART_CID = "pipeline-chart@jisr"


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT.exists():
        return ImageFont.truetype(str(FONT), 13)
    return ImageFont.load_default(13)


def pipeline_chart(counts: list[int], *, rtl: bool = False) -> bytes:
    """A PNG of one bar per stage, in pipeline order (mirrored for RTL)."""
    return _chart(tuple(counts), rtl)


@lru_cache(maxsize=512)
def _chart(counts: tuple[int, ...], rtl: bool) -> bytes:
    """Many subscribers share the same figures: each picture is drawn once."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "#ffffff")
    draw = ImageDraw.Draw(image)
    top = max(counts) if counts and max(counts) > 0 else 1
    slots = max(1, len(counts))
    slot = (WIDTH - 2 * PAD) / slots
    bottom = HEIGHT - PAD
    draw.line((PAD, bottom, WIDTH - PAD, bottom), fill="#adb5bd", width=1)
    font = _font()
    for index, count in enumerate(counts):
        position = slots - 1 - index if rtl else index
        left = PAD + position * slot + slot * 0.15
        right = PAD + (position + 1) * slot - slot * 0.15
        height = (bottom - 2 * PAD) * count / top
        if count:
            draw.rectangle((left, bottom - height, right, bottom), fill=COLOURS[index % len(COLOURS)])
        label = str(count)
        box = draw.textbbox((0, 0), label, font=font)
        draw.text(
            ((left + right - (box[2] - box[0])) / 2, bottom - height - (box[3] - box[1]) - 6),
            label,
            fill="#212529",
            font=font,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
