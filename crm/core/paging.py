"""One page of a list: its rows, how many there are in all, and the pager's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


MAX_PAGE = 99_999


def page_arg(value: str | None) -> int:
    """The page number a query string asks for: 1 unless it is a whole number from 1 to
    ``MAX_PAGE`` (a word, "²" or a huge number shows the first page)."""
    text = (value or "").strip()
    if text.isdecimal() and len(text) <= len(str(MAX_PAGE)):
        return max(1, min(int(text), MAX_PAGE))
    return 1


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill (one, even when there are none)."""
    return max(1, -(-total // per_page))


def page_within(page: int, total: int, per_page: int) -> int:
    """``page`` brought into 1…last: a page past the end shows the last one."""
    return max(1, min(page, page_count(total, per_page)))


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)
