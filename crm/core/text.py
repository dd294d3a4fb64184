"""Text normalisation so that names match across scripts, case, accents and Arabic
spelling variants ("Agence de Développement" ~ "agence de developpement",
"وكالة" ~ "وكاله", "أمن" ~ "امن"), and the forms search looks for: names written joined
("paloalto") and Arabic words without their article ("وكالة" for "الوكالة")."""

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


def joined_forms(*values: str | None) -> list[str]:
    """Each value of several words written as one ("Palo Alto" -> "paloalto", "عبد الرحمن"
    -> "عبدالرحمن"), normalised, so that a name typed joined finds it written apart (a
    name typed apart already finds it written joined: each word is in it)."""
    forms: list[str] = []
    for value in values:
        norm = normalise(value)
        if " " in norm:
            form = norm.replace(" ", "")
            if form not in forms:
                forms.append(form)
    return forms


def searchable(*values: str | None) -> str:
    """:func:`search_blob` of the values followed by their :func:`joined_forms`: the
    ``search_text`` of a row found by its names (organisations, contacts, meetings, sectors)."""
    return search_blob(*values, *joined_forms(*values))


# The Arabic definite article with the prefixes that glue to it: "ال", "وال" (and the),
# "بال" (with the), "فال", "كال", "لل" (for the).  Longest first.
_ARABIC_ARTICLES = ("وال", "بال", "فال", "كال", "ال", "لل")
_ARABIC_LETTERS = re.compile("^[\u0621-\u064a]+$")


def without_article(word: str) -> str:
    """A normalised Arabic word without its leading definite article ("الوكاله" -> "وكاله",
    "للتنميه" -> "تنميه") when at least three letters remain; any other word unchanged.
    What remains is a part of the word, so a search for it still finds the word with the
    article, and finds it without."""
    if not _ARABIC_LETTERS.match(word):
        return word
    for article in _ARABIC_ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 3:
            return word[len(article) :]
    return word


def isolate(value: object) -> str:
    """Wrap text typed by users in Unicode isolates (FSI … PDI) before putting it into a
    translated sentence, so an English title reads right inside an Arabic sentence and an
    Arabic name inside a French one."""
    text = str(value)
    return f"\u2068{text}\u2069" if text else text
