"""The error hierarchy; each error carries a public message and, apart, internal detail.

DemarcError
├── InvalidInput          422: a payload broke its schema; every problem with its JSON path
├── PayloadTooLarge       413
├── PolicyError           a policy file or draft is invalid; every problem with file:line:col
├── ConfigError           settings, principals or PKI files are unusable
├── Forbidden             403: a verified certificate that names no principal for this listener
├── NotFound              404: with a body that never hints whether the thing exists
├── StorageFull           507: the disk is full; nothing of the request was stored
├── BodyIncomplete        408: the connection ended (or timed out) before the body did
└── StoreBehind           the database holds less than was acknowledged (refused at start)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, and where: a JSON path (``$.a[0].b``) or ``file:line:col``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DemarcError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DemarcError):
    status_code = 422
    code = "invalid_input"

    def __init__(self, problems: list[Problem], message: str = "the payload is invalid") -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PayloadTooLarge(DemarcError):
    status_code = 413
    code = "payload_too_large"


class PolicyError(DemarcError):
    status_code = 422
    code = "invalid_policy"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("the policy is invalid")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ConfigError(DemarcError):
    code = "config_error"


class Forbidden(DemarcError):
    status_code = 403
    code = "forbidden"


class NotFound(DemarcError):
    status_code = 404
    code = "not_found"


class StorageFull(DemarcError):
    status_code = 507
    code = "storage_full"


class BodyIncomplete(DemarcError):
    status_code = 408
    code = "request_timeout"


class StoreBehind(ConfigError):
    """The database came up below the last acknowledged revision: acknowledged data is lost."""


def json_path(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """``("a", 0, "b")`` → ``$.a[0].b``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
