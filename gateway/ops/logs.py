"""One log format for the whole process: a JSON object per line (python-json-logger)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

import msgspec
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# uvicorn's own loggers are told (log_config=None) to leave formatting to the root handler
FIELDS = "{asctime}{levelname}{name}{message}"
HANDLER = "demarc-json"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


def _serialise(record: dict[str, object], **_: object) -> str:
    # msgspec, the project's one JSON library: the access log writes a line per request;
    # anything it cannot encode (an exception object) is written as its str()
    return msgspec.json.encode(record, enc_hook=str).decode()


def json_formatter() -> logging.Formatter:
    formatter = JsonFormatter(
        FIELDS,
        json_serializer=_serialise,
        style="{",
        rename_fields=RENAMED,
        # uvicorn adds a copy of each message with terminal colour codes: not for a log store
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )
    # UTC with milliseconds, sortable, the same in every container
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    formatter.converter = time.gmtime
    return formatter


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """One JSON handler on the root logger; calling it again replaces it (not the handlers of
    others, such as a test runner's)."""
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(json_formatter())
    handler.set_name(HANDLER)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when the handler was
    made: a test runner swaps and closes its capture streams, threads outlive them."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always sys.stderr
