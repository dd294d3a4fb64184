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
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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


def _json_escaped(text: str) -> str:
    """``text`` as it sits inside a JSON document written with ASCII escapes."""
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class Traces:
    contact_id: int
    name: str = ""
    email: str | None = None
    phone: str | None = None

    @property
    def replacement(self) -> str:
        return marker(self.contact_id)

    @property
    def searchable_name(self) -> bool:
        return len("".join(self.name.split())) >= MIN_NAME_LENGTH

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        parts: list[str] = []
        if self.searchable_name:
            parts.append(_name_regex(self.name))
            # As HTML mail and JSON text (a document kept as text) write it.
            for escaped in {html.escape(self.name), _json_escaped(self.name)} - {self.name}:
                parts.append(_name_regex(escaped))
        if self.email:
            parts.append(re.escape(self.email))
            if html.escape(self.email) != self.email:
                parts.append(re.escape(html.escape(self.email)))
        if self.phone and (phone := _phone_parts(self.phone)):
            parts.append(_phone_regex(*phone))
        if not parts:
            return None
        return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)

    # --- finding -----------------------------------------------------------------------

    def _like_patterns(self) -> Iterator[str]:
        """``LIKE`` patterns (to compare with the lowered text) that every written form
        matches: spaces may be any run of blanks, and JSON keeps non-ASCII letters as
        ``\\u`` escapes.  ``lower()`` folds only ASCII letters on SQLite (and in PostgreSQL's
        C locale), so a name with accented letters is also looked for with a wildcard in
        place of each of them ("ÉLISE DUPRÉ" is ``%lise dupr%``)."""
        words: list[str] = []
        if self.searchable_name:
            words.append(" ".join(self.name.split()))
        if self.email:
            words.append(self.email)
        for word in words:
            for variant in (word, word.lower(), html.escape(word)):
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
        if self.phone and (phone := _phone_parts(self.phone)):
            compact = text
            for separator in _SEPARATORS:
                compact = sa.func.replace(compact, separator, "")
            conditions.append(compact.like("%" + phone[1] + "%"))
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
            return pattern.sub(self.replacement, value)
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


def traces_of(contact: Contact) -> Traces:
    """What to look for; an erased contact leaves none."""
    if contact.erased_at is not None:
        return Traces(contact_id=contact.id or 0)
    return Traces(contact_id=contact.id or 0, name=contact.name, email=contact.email, phone=contact.phone)


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
