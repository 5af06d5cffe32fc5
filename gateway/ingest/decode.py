"""Request bodies as JSON values, with syntax errors reported as problems."""

from __future__ import annotations

import orjson

from gateway.errors import InvalidInput, Problem


def decode_json(body: bytes) -> object:
    """``body`` parsed as JSON (UTF-8), or :class:`InvalidInput` with a problem at ``$``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # str(exc) repeats the position as a character offset; line and column are enough
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidInput([Problem("$", f"not valid JSON: {exc.msg} at {where}")]) from exc
