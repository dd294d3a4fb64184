"""Text normalisation so that names match across scripts, case, accents and Arabic
spelling variants ("Agence de Développement" ~ "agence de developpement",
"وكالة" ~ "وكاله", "أمن" ~ "امن")."""

from __future__ import annotations

import re
import unicodedata

_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ى": "ي",
        "ة": "ه",
        "ء": "",
    }
)
_SPACES = re.compile(r"[\s\u200c-\u200f\u202a-\u202e]+")
_PUNCT = re.compile(r"[^\w\s]")


def normalise(text: str | None) -> str:
    """Case-, accent- and Arabic-variant-insensitive form of ``text`` for matching."""
    if not text:
        return ""
    text = _ARABIC_DIACRITICS.sub("", text)
    text = text.translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text.replace("'", " ").replace("’", " "))
    return _SPACES.sub(" ", text).strip()


def search_blob(*values: str | None) -> str:
    """One normalised string holding every given value, separated by `` | ``."""
    seen: list[str] = []
    for value in values:
        norm = normalise(value)
        if norm and norm not in seen:
            seen.append(norm)
    return " | ".join(seen)


def isolate(value: object) -> str:
    """Wrap text typed by users in Unicode isolates (FSI … PDI) before putting it into a
    translated sentence, so an English title reads right inside an Arabic sentence and an
    Arabic name inside a French one."""
    text = str(value)
    return f"\u2068{text}\u2069" if text else text
