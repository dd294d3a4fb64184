"""Building blocks of the API's pydantic models: strict input, exact JSON schemas.

Input models forbid unknown fields and are validated strictly from JSON, so what the
OpenAPI document says a body may be is what the API accepts: ``"3"`` is not an integer,
``null`` is not a title.  Dates, instants, wall times and amounts carry a pattern both in
their schema and in their validation, so generated clients and the server agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NaiveDatetime,
    PlainSerializer,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from crm.core.db import MAX_ID

# The default of a field that may be left out (a PATCH field, a query parameter): left out,
# it is None and not in ``model_fields_set``; sent, it must be a value of the field's type.
UNSET: Any = None

# Years 1900 to 2199: enough for any mission, and far from where time-zone arithmetic overflows.
_DAY = r"(19|20|21)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d"
WALL_TIME_PATTERN = rf"^{_DAY}T{_TIME}(:[0-5]\d(\.\d{{1,6}})?)?$"
INSTANT_PATTERN = rf"^{_DAY}T{_TIME}:[0-5]\d(\.\d{{1,6}})?(Z|[+-]{_TIME})$"
DAY_PATTERN = rf"^{_DAY}$"
AMOUNT_PATTERN = r"^\d{1,14}(\.\d{1,2})?$"
CURSOR_PATTERN = r"^[A-Za-z0-9_.-]+$"  # what the lists hand out (URL-safe, signed)


def _parsed(pattern: str, error: str, parse: Callable[[str], Any]) -> Any:
    """Accept exactly the strings the schema's pattern describes, and parse them (a strict
    model would refuse the string itself, JSON having no dates or decimals)."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise PydanticCustomError(error, "does not match the expected form")
        try:
            return parse(value)
        except (ValueError, ArithmeticError):  # well formed, but no such day (2024-02-30)
            raise PydanticCustomError("invalid", "no such date", {"kind": error}) from None

    return BeforeValidator(check)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("string_pattern_mismatch", "contains NUL")
    return value


NoNul = AfterValidator(_no_nul)
Text40 = Annotated[str, Field(max_length=40), NoNul]
Text64 = Annotated[str, Field(max_length=64), NoNul]
Text100 = Annotated[str, Field(max_length=100), NoNul]
Text200 = Annotated[str, Field(max_length=200), NoNul]
Text300 = Annotated[str, Field(max_length=300), NoNul]
Text2000 = Annotated[str, Field(max_length=2000), NoNul]
LongText = Annotated[str, Field(max_length=50000), NoNul]
Email = Annotated[str, Field(max_length=254), NoNul]
Zone = Annotated[str, Field(max_length=64, description="An IANA time zone, e.g. Africa/Casablanca."), NoNul]
Search = Annotated[str, Field(min_length=1, max_length=200, description="Words to look for, in any language."), NoNul]


def _whole(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; so does the API (but never "3" or true)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_whole)]
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole)]
WallTime = Annotated[
    NaiveDatetime,
    _parsed(WALL_TIME_PATTERN, "wall_time_parsing", datetime.fromisoformat),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WALL_TIME_PATTERN,
            "description": "Wall-clock time without an offset, read in the time zone given beside it.",
            "examples": ["2024-03-15T09:30:00"],
        }
    ),
]
Instant = Annotated[
    AwareDatetime,
    _parsed(INSTANT_PATTERN, "instant_parsing", datetime.fromisoformat),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}),
]
Day = Annotated[
    date,
    _parsed(DAY_PATTERN, "day_parsing", date.fromisoformat),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
Amount = Annotated[
    Decimal,
    _parsed(AMOUNT_PATTERN, "amount_parsing", Decimal),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "description": "A decimal amount as a string, at most two decimals.",
            "examples": ["250000.00"],
        }
    ),
]


# Instants the API answers with (always UTC, as stored).
InstantOut = Annotated[datetime, WithJsonSchema({"type": "string", "format": "date-time"})]
WallTimeOut = Annotated[
    datetime,
    PlainSerializer(lambda v: v.replace(tzinfo=None).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"}),
]
DayOut = Annotated[date, WithJsonSchema({"type": "string", "format": "date"})]
AmountOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["250000.00"]}),
]


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    """An omitted PATCH field means "unchanged", which is not the same as ``null``."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None:
            prop.pop("default")


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)


class QueryModel(BaseModel):
    """Query parameters (strings, converted); unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)

    cursor: str = Field(
        default=UNSET,
        min_length=1,
        max_length=4096,
        pattern=CURSOR_PATTERN,
        description="The next_cursor or previous_cursor of a page of this list in the same order: the page after "
        "(or before) it.  The first page if omitted.",
    )
    page: int = Field(
        default=1,
        ge=1,
        le=100000,
        description="Page number, from 1; beyond 1, not with a cursor (422).  Deprecated beyond the first page: "
        "a deep page costs as much as every page before it, where a cursor costs what the first page does.",
    )
    limit: int = Field(default=50, ge=1, le=100, description="Items per page (at most 100).")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageEnvelope(BaseModel):
    """One page of a list (answered with a ``Link`` header to the pages beside it)."""


def page_model(item: type[BaseModel], name: str) -> type[BaseModel]:
    """The envelope of one page of ``item``s."""
    return create_model(
        name,
        __base__=PageEnvelope,
        __doc__=PageEnvelope.__doc__,
        items=(list[item], ...),  # type: ignore[valid-type]
        page=(int | None, Field(description="This page's number when asked by number; null when read by cursor.")),
        limit=(int, Field(description="Items per page.")),
        total=(
            int,
            Field(
                description="Items on every page together: exact when total_exact is true; otherwise an estimate "
                "(PostgreSQL's, from its statistics), or where there is none the bound + 1 (more than the bound), "
                "never below the bound + 1."
            ),
        ),
        total_exact=(
            bool,
            Field(description="Whether total is exact: it is up to a bound (1000 by default), an estimate beyond."),
        ),
        next_cursor=(
            str | None,
            Field(description="Give it as cursor for the next page, in the same order; null on the last page."),
        ),
        previous_cursor=(
            str | None,
            Field(description="Give it as cursor for the page before, in the same order; null on the first page."),
        ),
    )


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where the error is: ["body", "title"], ["query", "limit"]…')
    message: str = Field(description="What is wrong, in the caller's language.")
    type: str = Field(description="A stable name of the kind of error.")


class Problem(BaseModel):
    """An error answer (RFC 9457)."""

    type: str
    status: int
    code: str = Field(description="A stable name of the error, for programs.")
    title: str = Field(description="A short summary in the caller's language.")
    detail: str | None = Field(description="What happened, in the caller's language.")
    errors: list[FieldError] = Field(description="The fields in error (bad input), or the one refused (403).")
