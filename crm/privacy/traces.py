"""How one person shows in what Jisr keeps: their name, email address and phone number,
as people write them in notes, emails, imported files and event payloads.

:class:`Traces` finds them (a cheap SQL condition that may over-select, then an exact
regular expression in Python) and replaces them with a neutral marker, ``[#<contact id>]``,
in plain text and, string by string, in JSON documents.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote, quote_plus

import phonenumbers
import sqlalchemy as sa

from crm.organisations.models import Contact

# A name shorter than this (once its spaces are taken out) is too common a string to look
# for in free text ("Li" is in "Liaison"); it is removed only from the contact's own fields
# and from the records that point to the contact.
MIN_NAME_LENGTH = 3
# The contact's own fields, blanked wherever a record holds them as fields of that contact.
PERSONAL_FIELDS = ("name", "title", "email", "phone")
_SEPARATORS = (" ", "-", ".", "(", ")", "/")


def marker(contact_id: int) -> str:
    """What replaces the person in text: neutral in every language, and pointing to the
    (erased) contact for whoever needs to know which record it was."""
    return f"[#{contact_id}]"


def _name_regex(name: str) -> str:
    words = [re.escape(w) for w in name.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


def _phone_parts(phone: str) -> tuple[str, str] | None:
    """The country code and the national number of an E.164 number."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    national = phonenumbers.national_significant_number(number)
    return (str(number.country_code), national) if len(national) >= 6 else None


def _phone_regex(country_code: str, national: str) -> str:
    """The number written any usual way: +212 6 12-34-56-78, 00212612345678, 0612 345 678,
    (202) 555-0143, with or without a trunk 0 or 1."""
    gap = r"[\s.\-/()]*"
    digits = gap.join(re.escape(d) for d in national)
    prefix = rf"(?:(?:\+|00){gap}{country_code}{gap}(?:\(0\){gap})?|[01]{gap})?"
    return rf"(?<![\d+]){prefix}{digits}(?!\d)"


def _url_encoded(text: str) -> tuple[str, ...]:
    """``text`` as a query string holds it (a saved filter, a link in a mail), when that
    differs from the text itself."""
    return tuple(e for e in dict.fromkeys((quote_plus(text), quote(text))) if e != text)


def _json_escaped(text: str) -> str:
    """``text`` as it sits inside a JSON document written with ASCII escapes."""
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class Traces:
    """Every name, address and number the person had in Jisr (a changed email address
    is still on the mail sent to it)."""

    contact_id: int
    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def replacement(self) -> str:
        return marker(self.contact_id)

    @property
    def searchable_names(self) -> list[str]:
        return [" ".join(n.split()) for n in self.names if len("".join(n.split())) >= MIN_NAME_LENGTH]

    @property
    def phone_parts(self) -> list[tuple[str, str]]:
        return [parts for phone in self.phones if (parts := _phone_parts(phone))]

    @cached_property
    def _parts(self) -> list[tuple[str, bool]]:
        """The regular expressions of every written form, each with whether it is the
        URL-encoded form (then the marker replacing it is URL-encoded too)."""
        parts: list[tuple[str, bool]] = []
        for name in self.searchable_names:
            # As written, and as HTML mail and JSON text (a document kept as text) write it.
            parts += [(_name_regex(n), False) for n in dict.fromkeys((name, html.escape(name), _json_escaped(name)))]
        for email in self.emails:
            parts += [(re.escape(e), False) for e in dict.fromkeys((email, html.escape(email)))]
        for written in [*self.searchable_names, *self.emails]:
            parts += [(r"(?<!\w)" + re.escape(e) + r"(?!\w)", True) for e in _url_encoded(written)]
        parts += [(_phone_regex(*phone), False) for phone in self.phone_parts]
        # The longest first, so that "Salma Benjelloun-Tazi" goes whole, not as "[#1]-Tazi".
        parts.sort(key=lambda part: len(part[0]), reverse=True)
        return parts

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        if not self._parts:
            return None
        # One named group per form (the forms themselves only use non-capturing groups).
        return re.compile("|".join(f"(?P<f{n}>{p})" for n, (p, _) in enumerate(self._parts)), re.IGNORECASE)

    def _replace(self, match: re.Match[str]) -> str:
        encoded = self._parts[int((match.lastgroup or "f0")[1:])][1]
        return quote_plus(self.replacement) if encoded else self.replacement

    # --- finding -----------------------------------------------------------------------

    def _like_patterns(self) -> Iterator[str]:
        """``LIKE`` patterns (to compare with the lowered text) that every written form
        matches: spaces may be any run of blanks, and JSON keeps non-ASCII letters as
        ``\\u`` escapes.  ``lower()`` folds only ASCII letters on SQLite (and in PostgreSQL's
        C locale), so a name with accented letters is also looked for with a wildcard in
        place of each of them ("ÉLISE DUPRÉ" is ``%lise dupr%``)."""
        for word in [*self.searchable_names, *self.emails]:
            for variant in (word, word.lower(), html.escape(word), *_url_encoded(word)):
                for written in (variant, _json_escaped(variant)):
                    yield "%" + "%".join(_ascii_lower(_like_escaped(part)) for part in written.split()) + "%"
            if not word.isascii() and sum(c.isascii() and c.isalpha() for c in word) >= MIN_NAME_LENGTH:
                wild = "".join(_like_escaped(c).lower() if c.isascii() and not c.isspace() else "%" for c in word)
                yield "%" + re.sub("%+", "%", wild) + "%"

    def sql_condition(self, column: Any) -> Any:
        """A condition true for every row whose ``column`` (text or JSON) holds a trace,
        and perhaps for a few more: :meth:`found_in` decides."""
        text: Any = sa.cast(column, sa.Text)
        lowered = sa.func.lower(text)
        conditions = [lowered.like(pattern, escape="\\") for pattern in dict.fromkeys(self._like_patterns())]
        if self.phone_parts:
            compact = text
            for separator in _SEPARATORS:
                compact = sa.func.replace(compact, separator, "")
            conditions += [compact.like("%" + national + "%") for _, national in self.phone_parts]
        return sa.or_(*conditions) if conditions else sa.false()

    def found_in(self, value: Any) -> bool:
        pattern = self.pattern
        if pattern is None:
            return False
        if isinstance(value, str):
            return pattern.search(value) is not None
        if isinstance(value, dict):
            return any(self.found_in(k) or self.found_in(v) for k, v in value.items())
        if isinstance(value, list):
            return any(self.found_in(v) for v in value)
        return False

    # --- replacing ---------------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        """``value`` (text, or a JSON document) with every trace replaced by the marker."""
        pattern = self.pattern
        if pattern is None:
            return value
        if isinstance(value, str):
            return pattern.sub(self._replace, value)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value


def _ascii_lower(text: str) -> str:
    """Lower case as SQLite's ``lower()`` has it: ASCII letters only."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _values_of(document: Any, key: str) -> list[str]:
    """The values ``key`` had in a record of the contact: ``{"email": …}`` (created) or
    ``{"changes": {"email": [before, after]}}`` (updated)."""
    if not isinstance(document, dict):
        return []
    found: list[str] = []
    for value in (document.get(key), (document.get("changes") or {}).get(key)):
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and one.strip():
                found.append(one.strip())
    return found


def traces_of(contact: Contact, history: Iterable[Any] = ()) -> Traces:
    """What to look for: the contact's fields now and as ``history`` (the payloads of its
    events, the values of its import rows) had them.  An erased contact leaves none."""
    if contact.erased_at is not None:
        return Traces(contact_id=contact.id or 0)
    records = [{"name": contact.name, "email": contact.email, "phone": contact.phone}, *history]

    def every(key: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for record in records for v in _values_of(record, key)))

    emails = tuple(dict.fromkeys(e.lower() for e in every("email")))
    return Traces(contact_id=contact.id or 0, names=every("name"), emails=emails, phones=every("phone"))


def blank_personal_fields(document: Any) -> Any:
    """A record of the contact itself (an event payload, an import row's values) with its
    personal fields emptied: ``{"name": "Sara"}`` and ``{"changes": {"name": ["Sara",
    "Sarah"]}}`` keep their keys (what was done stays readable) without the values."""
    if not isinstance(document, dict):
        return document
    blanked: dict[str, Any] = {}
    for key, value in document.items():
        if key in PERSONAL_FIELDS:
            blanked[key] = [None for _ in value] if isinstance(value, list) else None
        elif key == "changes" and isinstance(value, dict):
            blanked[key] = blank_personal_fields(value)
        else:
            blanked[key] = value
    return blanked
