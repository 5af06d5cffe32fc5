"""The error hierarchy; each error carries a public message and, apart, internal detail.

DemarcError               500 internal_error: the root; the CLI prints any of them and exits 2
├── InvalidInput          422 invalid_input: a payload broke its schema; every problem's JSON path
├── PayloadTooLarge       413 payload_too_large
├── UnsupportedMediaType  415 unsupported_media_type: a body whose Content-Type is not accepted
├── BodyIncomplete        408 request_timeout: the connection ended or timed out before the body
├── PolicyError           422 invalid_policy: a policy file or draft; every problem's file:line:col
├── PolicyTestError       500 invalid_policy_test: a policy test file or its data; file and case
├── ConfigError           500 config_error: settings, principals or PKI files are unusable
│   ├── PkiError          500 pki_error: a PKI file or request (demarc pki, a dev tool); names it
│   └── StoreBehind       500 config_error: the database holds less than was acknowledged (start)
├── Forbidden             403 forbidden: a verified certificate naming no principal for here
│   └── SelfApproval      403 self_approval: the author of a draft cannot approve it
├── NotFound              404 not_found: with a body that never hints whether the thing exists
├── Conflict              409 conflict: the request disagrees with the current state
│   ├── StaleDraft        409 stale_draft: reviewed or written against a version now replaced
│   └── ApprovalRequired  409 approval_required: a widening draft needs a second staff member
└── StorageFull           507 storage_full: the disk is full; nothing of the request was stored

ClientRefused (ssl.SSLError): a verified client certificate refused by Demarc's own checks in
the TLS layer; an SSLError so that asyncio closes the connection quietly, never an HTTP error.

ValueError is raised only inside parsers and pydantic validators, which turn it into a Problem
of InvalidInput, PolicyError or ConfigError before it leaves them.
"""

from __future__ import annotations

import ssl
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


class UnsupportedMediaType(DemarcError):
    status_code = 415
    code = "unsupported_media_type"


class PolicyError(DemarcError):
    status_code = 422
    code = "invalid_policy"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("the policy is invalid")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PolicyTestError(DemarcError):
    code = "invalid_policy_test"


class ConfigError(DemarcError):
    code = "config_error"


class PkiError(ConfigError):
    code = "pki_error"


class Forbidden(DemarcError):
    status_code = 403
    code = "forbidden"


class SelfApproval(Forbidden):
    code = "self_approval"


class NotFound(DemarcError):
    status_code = 404
    code = "not_found"


class Conflict(DemarcError):
    status_code = 409
    code = "conflict"


class StaleDraft(Conflict):
    code = "stale_draft"


class ApprovalRequired(Conflict):
    code = "approval_required"


class ClientRefused(ssl.SSLError):
    """A verified certificate refused by Demarc's own checks (an OSError: logged quietly)."""


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
