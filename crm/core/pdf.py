"""PDF documents from HTML templates, with WeasyPrint.

WeasyPrint lays text out through Pango and HarfBuzz, so Arabic is shaped and set right to
left like in a browser. The fonts are the machine's (Debian's fonts-noto-core, installed by
`make test` and the Dockerfile; DejaVu otherwise): nothing is fetched at run time, and a
document may not load anything from the network (`no_network`).

WeasyPrint is imported when the first PDF is made, not with the application: it holds
some 40 MB that every web worker would otherwise carry for pages that never print.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response, render_template

from crm.core.i18n import current_language, text_direction

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher


def no_network() -> URLFetcher:
    """WeasyPrint's fetcher for documents: inline data only (charts as data: URIs)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)


# WeasyPrint does not apply `unicode-bidi` (70.0), but Pango follows the isolate characters.
_BDI_OPEN = re.compile(r'<bdi(?:\s+[^>]*?\bdir="(ltr|rtl|auto)")?[^>]*>')
_ISOLATES = {"ltr": "\u2066", "rtl": "\u2067", "auto": "\u2068", None: "\u2068"}


def isolates(html: str) -> str:
    """Each ``<bdi>`` becomes an isolate of the Unicode bidi algorithm (LRI, RLI or FSI … PDI)."""
    html = _BDI_OPEN.sub(lambda m: f"<bdi>{_ISOLATES[m[1]]}", html)
    return html.replace("</bdi>", "\u2069</bdi>")


def render_pdf(template: str, **context: Any) -> bytes:
    """Render `template` (which extends pdf/base.html) in the current language into a PDF."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    language = current_language()
    html = render_template(template, language=language, direction=text_direction(language), **context)
    return HTML(string=isolates(html), url_fetcher=no_network()).write_pdf(font_config=FontConfiguration())  # type: ignore[no-any-return]


def pdf_response(data: bytes, filename: str) -> Response:
    """The PDF as a download; the file name may be Arabic or French (RFC 6266 filename*)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
    )
