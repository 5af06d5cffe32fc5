"""Request bodies as JSON values, with syntax errors and duplicate keys reported as problems."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from gateway.errors import InvalidInput, Problem, json_path

_AT_BYTE = re.compile(r"\s*\(byte (\d+)\)$")


class _Repeated(dict[str, Any]):
    """An object that named a key twice: kept only to say where, then refused."""

    key = ""


def _first_repeated(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON; expected a number")


def decode_json(body: bytes) -> object:
    """``body`` parsed as JSON (UTF-8), or :class:`InvalidInput` with a problem at ``$``.

    Stricter than most parsers on purpose: a key named twice in one object is refused (which
    value a sender meant is its bug, and another reader might take the other one), and so are
    ``NaN`` and ``Infinity``, which JSON does not have."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not valid JSON: the body is not UTF-8 (byte {exc.start})"
        raise InvalidInput([Problem("$", problem)]) from None
    repeats: list[_Repeated] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) == len(items):
            return out
        repeated = _Repeated(out)
        repeated.key = _first_repeated(items)
        repeats.append(repeated)
        return repeated

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        # msgspec's words are clearer ("trailing comma in object"): asked on this path only
        problem = _msgspec_problem(body) or f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidInput([Problem("$", f"not valid JSON: {problem}")]) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput([Problem("$", f"not valid JSON: {exc}")]) from None
    where = _repeated(doc, ()) if repeats else None
    if where is not None:
        loc, key = where
        message = f'the key "{key}" appears twice in this object; expected each key once'
        raise InvalidInput([Problem(json_path(loc), message)])
    return doc


def _msgspec_problem(body: bytes) -> str | None:
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        # "JSON is malformed: <what> (byte N)": people count lines and columns
        text = str(exc).removeprefix("JSON is malformed: ")
        found = _AT_BYTE.search(text)
        if found is not None:
            return text[: found.start()] + " at " + _line_column(body, int(found.group(1)))
        if "truncated" in text:
            return f"the body ends before the JSON value does (byte {len(body)})"
        return text
    return None


def _line_column(body: bytes, offset: int) -> str:
    before = body[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return f"line {line} column {column}"


def _repeated(
    value: object, loc: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], str] | None:
    """Where the first object with a repeated key is (only walked once one was seen)."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, loc)]
    while stack:
        cur, at = stack.pop()
        if isinstance(cur, _Repeated):
            return at, cur.key
        if isinstance(cur, dict):
            stack.extend((v, (*at, k)) for k, v in reversed(cur.items()))
        elif isinstance(cur, list):
            stack.extend((v, (*at, i)) for i, v in reversed(list(enumerate(cur))))
    return None
