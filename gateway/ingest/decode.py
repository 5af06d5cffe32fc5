"""Request bodies as JSON values, with syntax errors reported as problems."""

from __future__ import annotations

import re

import msgspec

from gateway.errors import InvalidInput, Problem

_decode = msgspec.json.Decoder().decode
_AT_BYTE = re.compile(r"\s*\(byte (\d+)\)$")


def decode_json(body: bytes) -> object:
    """``body`` parsed as JSON (UTF-8), or :class:`InvalidInput` with a problem at ``$``."""
    try:
        return _decode(body)
    except msgspec.DecodeError as exc:
        # msgspec says "JSON is malformed: <what> (byte N)": people count lines and columns
        text = str(exc).removeprefix("JSON is malformed: ")
        found = _AT_BYTE.search(text)
        where = ""
        if found is not None:
            where = " at " + _line_column(body, int(found.group(1)))
            text = text[: found.start()]
        elif "truncated" in text:
            text, where = "the body ends before the JSON value does", f" (byte {len(body)})"
        raise InvalidInput([Problem("$", f"not valid JSON: {text}{where}")]) from None


def _line_column(body: bytes, offset: int) -> str:
    before = body[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return f"line {line} column {column}"
