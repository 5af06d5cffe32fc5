"""Shared ingest validation: pydantic errors as JSON-path problems, and common constrained types."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails

from gateway.errors import InvalidInput, Problem, json_path

MAX_ITEMS = 100_000
"""The most items any one list in a payload may hold."""

M = TypeVar("M", bound=BaseModel)

Loc = tuple[str | int, ...]


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode category Cc, exactly: C0, DEL and C1 (one regex search, not a lookup per char)."""


def _check_id(value: str) -> str:
    # control characters in ids break logs, headers and file names downstream
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# the JSON Schema says what _check_id checks: no character of Unicode category Cc
NO_CONTROL = "^[^\x00-\x1f\x7f-\x9f]*$"
ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": NO_CONTROL}
Id = Annotated[
    str,
    Field(min_length=1, max_length=256),
    AfterValidator(_check_id),
    WithJsonSchema(ID_SCHEMA),
]
"""An identifier: non-empty, at most 256 characters, no control characters."""

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,  # \d would otherwise match any script's digits, which int() also accepts
)
_EXAMPLE = "e.g. 2026-01-31T12:00:00Z"


def parse_rfc3339(value: object) -> datetime:
    """An RFC 3339 timestamp with an offset, as an aware ``datetime`` in UTC."""
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 timestamp string ({_EXAMPLE})")
    m = _RFC3339.fullmatch(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp; expected {_EXAMPLE}")
    if m[8] is None:
        raise ValueError(f"timestamp has no UTC offset; expected Z or ±hh:mm ({_EXAMPLE})")
    # datetime holds microseconds; Go (Alertmanager) sends nanoseconds, which we truncate
    micros = int((m[7] or "0")[:6].ljust(6, "0"))
    try:
        if m[8] in ("Z", "z"):
            tz = UTC
        else:
            sign = -1 if m[8][0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(m[8][1:3]), minutes=int(m[8][4:6])))
        year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
        return datetime(year, month, day, hour, minute, second, micros, tz).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid date and time ({exc}); expected {_EXAMPLE}") from None


Timestamp = Annotated[
    datetime,
    PlainValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware RFC 3339 timestamp, normalised to UTC."""

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "model_type": "an object",
    "dict_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "none_required": "null",
}


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list() | tuple():
            return "array"
        case dict():
            return "object"
    return type(value).__name__


def _real_loc(loc: Loc, doc: object, missing: bool) -> Loc:
    """``loc`` reduced to the keys and indexes that are in the payload.

    Pydantic adds the names of union members (``str``, a model's name) to ``loc``; walking the
    payload drops them, so paths name only what the sender wrote.
    """
    out: list[str | int] = []
    cur = doc
    for i, part in enumerate(loc):
        if isinstance(cur, dict) and isinstance(part, str):
            if part in cur:
                out.append(part)
                cur = cur[part]
            elif missing and i == len(loc) - 1:
                out.append(part)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
    return tuple(out)


def _shown(value: object) -> str:
    """A scalar as JSON, shortened; anything else by its JSON type."""
    if value is None or isinstance(value, bool | int | float | str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + "…"
    return _json_type(value)


def _message(err: ErrorDetails) -> str:
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind == "missing" and msg == "Field required":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key: this format does not define it"
    ctx = err.get("ctx", {})
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty; expected a non-empty string"
    if kind in ("too_short", "too_long"):
        which, limit = (
            ("at least", ctx["min_length"])
            if kind == "too_short"
            else ("at most", ctx["max_length"])
        )
        items = "item" if limit == 1 else "items"
        return f"expected {which} {limit} {items} (got {ctx['actual_length']})"
    if msg.startswith("Input should be "):
        rest = msg.removeprefix("Input should be ")
        if rest.startswith(("greater", "less")):
            rest = "a number " + rest
        return f"expected {rest} (got {_shown(err['input'])})"
    return msg


def problems_from(error: ValidationError, doc: object) -> list[Problem]:
    """Each pydantic error as a :class:`Problem` at its JSON path in ``doc``."""
    # a failed union gives an error per member at one place; they become one problem
    by_path: dict[str, list[ErrorDetails]] = {}
    for err in error.errors(include_url=False):
        where = json_path(_real_loc(tuple(err["loc"]), doc, err["type"] == "missing"))
        by_path.setdefault(where, []).append(err)
    problems = []
    for where, errs in by_path.items():
        # when the value has a member's type, the other members' type errors are noise
        others = [e for e in errs if e["type"] not in _EXPECTED]
        if others:
            text = "; ".join(dict.fromkeys(_message(e) for e in others))
        else:
            expected = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e in errs))
            text = f"expected {expected} (got {_json_type(errs[0]['input'])})"
        problems.append(Problem(where, text))
    return problems


def validate(model: type[M], doc: object) -> M:
    """``doc`` validated as ``model``, or :class:`InvalidInput` listing every problem."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise InvalidInput(problems_from(exc, doc)) from exc


def duplicates(items: Iterable[tuple[str, Loc]], what: str) -> list[Problem]:
    """A problem for each ``(id, loc)`` whose id an earlier item already used."""
    first: dict[str, Loc] = {}
    problems = []
    for ident, loc in items:
        if ident in first:
            problems.append(
                Problem(
                    json_path(loc),
                    f'duplicate {what} "{ident}": already used at {json_path(first[ident])}; '
                    f"expected each {what} once",
                )
            )
        else:
            first[ident] = loc
    return problems


def check(problems: Sequence[Problem]) -> None:
    """Raise :class:`InvalidInput` if there are any problems."""
    if problems:
        raise InvalidInput(list(problems))
