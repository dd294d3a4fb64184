"""A small chart of the pipeline by stage, drawn server-side for the digest email.

One row per stage: its name, a bar and the count, in the reader's language.  Mail clients
run no script, so the chart is a PNG sent inline (``cid:``).  Arabic names are shaped and
laid out right to left by Pillow's Raqm engine (HarfBuzz + FriBiDi, bundled with Pillow's
wheels), and for right-to-left readers the whole chart is mirrored: names on the right,
bars growing leftwards, as the table beside it reads.  The table keeps the same figures as
text for screen readers and clients that hide images.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

log = logging.getLogger(__name__)

COLOURS = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#198754")
# DejaVu Sans has Latin and Arabic glyphs (Debian's fonts-dejavu-core).
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WIDTH, ROW, PAD, LABELS = 480, 28, 12, 150
CHART_CID = "pipeline-chart@jisr"


def chart_height(rows: int) -> int:
    return 2 * PAD + ROW * max(1, rows)


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if not FONT.exists():
        log.warning("%s is missing: the digest chart falls back to a font without Arabic glyphs", FONT)
        return ImageFont.load_default(13)
    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONT), 13, layout_engine=engine)


def pipeline_chart(counts: list[int], labels: list[str], *, rtl: bool = False) -> bytes:
    """A PNG with one labelled bar per stage, in pipeline order (mirrored for RTL)."""
    return _chart(tuple(counts), tuple(labels), rtl)


@lru_cache(maxsize=512)
def _chart(counts: tuple[int, ...], labels: tuple[str, ...], rtl: bool) -> bytes:
    """Many subscribers read the same figures in the same language: each picture is drawn once."""
    font = _font()
    image = Image.new("RGB", (WIDTH, chart_height(len(counts))), "#ffffff")
    draw = ImageDraw.Draw(image)
    top = max(counts) if counts and max(counts) > 0 else 1
    # Room for the largest count beside its bar.
    room = draw.textlength(str(top), font=font) + 8
    span = WIDTH - 2 * PAD - LABELS - room
    direction = "rtl" if rtl and isinstance(font, ImageFont.FreeTypeFont) and features.check("raqm") else None
    for index, (count, label) in enumerate(zip(counts, labels, strict=False)):
        y = PAD + index * ROW
        middle = y + ROW / 2
        length = span * count / top
        name_width = draw.textlength(label, font=font, direction=direction)
        bar: tuple[float, float, float, float]
        if rtl:
            name_x = WIDTH - PAD - name_width
            bar = (WIDTH - PAD - LABELS - length, y + 5, WIDTH - PAD - LABELS, y + ROW - 5)
            count_x = bar[0] - 4 - draw.textlength(str(count), font=font)
        else:
            name_x = PAD
            bar = (PAD + LABELS, y + 5, PAD + LABELS + length, y + ROW - 5)
            count_x = bar[2] + 4
        draw.text((name_x, middle), label, fill="#212529", font=font, anchor="lm", direction=direction)
        if count:
            draw.rectangle(bar, fill=COLOURS[index % len(COLOURS)])
        draw.text((count_x, middle), str(count), fill="#212529", font=font, anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # a few KB more, several times faster
    return buffer.getvalue()
