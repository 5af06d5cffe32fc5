"""Schemathesis against both listeners, in-process, as every role: the documents tell the truth.

Each listener's own ``/openapi.json`` (fetched as the principal, as a client would) drives
every phase (examples, coverage, fuzzing, stateful) with every check on: no server error,
every status and content type documented, bodies and headers match their schemas, negative
data refused, positive data accepted, 405 with Allow for undocumented methods, and the rest.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from gateway.demo.network import DemoData
from tests.conftest import POLICIES, SOURCE, STAFF, Pki, RunningGateway, feed, make_settings
from tests.inprocess import certificate_der, with_client_cert

# (listener, principal): every role, on the listener it belongs to
ROLES = [
    ("public", "peer/acme"),
    ("public", "customer/globex"),
    ("internal", SOURCE),
    ("internal", STAFF),
]
MAX_EXAMPLES = 8  # per operation and phase: about 80 s of CPU for the four runs here

# Checks that are off, and why. Every other built-in check runs everywhere.
EXCLUDED_CHECKS: dict[str, str] = {}
# (path regex, check): off for those operations only, and why
EXCLUDED_FOR: dict[tuple[str, str], str] = {
    ("^/v1/ingest/", "positive_data_acceptance"): (
        "the ingest parsers also apply rules across fields and records that JSON Schema cannot "
        "state: a link's ends name nodes and ports of the same document, ids are unique within "
        "a list, a maintenance window ends after it starts, cleared_at is not before raised_at, "
        "endsAt is after startsAt, text is valid Unicode (no lone surrogates); a document that "
        "breaks one is schema-valid and rightly refused with 422"
    ),
    (
        "^/v1/(interconnects|alarms|maintenance|services|incidents|history|events)$",
        "positive_data_acceptance",
    ): (
        "a list view's cursor (and the change feed's `after`) is an opaque token the gateway "
        "signed for that view and audience (gateway/views/cursor.py): any string is "
        "schema-valid, and one the gateway did not issue is rightly refused with 422 "
        "invalid_cursor; and a filter's `until` must be after its `since`, a rule across two "
        "parameters that JSON Schema cannot state"
    ),
    ("^/v1/interconnects/[^/]+/performance$", "positive_data_acceptance"): (
        "since and until are each a valid RFC 3339 time, but together they must make a span "
        "that starts before it ends and covers at most 7 days of 5-minute (90 days of hourly) "
        "buckets, a rule across two parameters JSON Schema cannot state; a span that breaks it "
        "is rightly refused with 422 naming query.since"
    ),
    ("^/v1/admin/(incidents|maintenance)", "positive_data_acceptance"): (
        "text written for customers that names the network's internals (a router, an address), "
        "and an update dated ahead of the gateway's clock, are schema-valid and rightly refused "
        "with 422 (gateway/api/written.py); an incident id already declared is a 409"
    ),
    ("^/v1/admin/(drafts|policies/validate)", "positive_data_acceptance"): (
        "a policy travels as text (YAML in a string, or application/yaml): its rules are those "
        "of schemas/policy.schema.json and the policy parser, which a string schema cannot "
        "carry; invalid text is rightly refused with 422"
    ),
}


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    """A gateway of its own (the fuzzer writes to it), fed with the demo network; the rate
    limit out of the way, so that cases reach the routes (429 is documented everywhere)."""
    data_dir = tmp_path_factory.mktemp("fuzzed")
    limits = {"rate_per_s": 1_000_000, "rate_burst": 1_000_000}
    settings = make_settings(data_dir, pki, demo, policies_dir=POLICIES, limits=limits)
    server = RunningGateway(settings, in_process=True)
    server.start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def on_gateway_loop(app: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """``app`` called from another event loop (Schemathesis's test client runs its own): each
    request is read whole, answered on the gateway's loop, and the answer replayed."""

    async def bridge(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the gateway is already started
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        sent: list[dict[str, Any]] = []
        given = [{"type": "http.request", "body": body, "more_body": False}]

        async def inner_receive() -> dict[str, Any]:
            return given.pop() if given else {"type": "http.disconnect"}

        async def inner_send(message: dict[str, Any]) -> None:
            sent.append(message)

        done = asyncio.run_coroutine_threadsafe(app(scope, inner_receive, inner_send), loop)
        await asyncio.wrap_future(done)
        for message in sent:
            await send(message)

    return bridge


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 13,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"},
            "checks": {name: {"enabled": False} for name in EXCLUDED_CHECKS},
            "operations": [
                {"include-path-regex": path, "checks": {check: {"enabled": False}}}
                for path, check in EXCLUDED_FOR
            ],
            "phases": {"stateful": {"max-steps": 20}},
        }
    )


def _run(server: RunningGateway, pki: Pki, listener: str, principal: str) -> dict[str, Any]:
    gateway = server.gateway
    app = gateway.public_app if listener == "public" else gateway.internal_app
    assert server._loop is not None
    asgi = on_gateway_loop(
        with_client_cert(app, certificate_der(pki.directory, principal)), server._loop
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", asgi, config=_config())
    operations = sum(1 for result in schema.get_all_operations() if result.ok())
    cases = 0
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    details: list[str] = []  # what failed, and a curl command that reproduces it
    errors: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    statuses[interaction.response.status_code] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(f"{recorder.label}: {check.name}: {failure.title}")
                        how = check.failure_info.code_sample
                        details.append(f"{check.name}: {failure.message[:500]}\n  {how[:500]}")
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
    return {
        "operations": operations,
        "cases": cases,
        "statuses": dict(statuses),
        "failures": sorted(set(failures)),
        "details": details,
        "errors": errors,
    }


@pytest.mark.parametrize(("listener", "principal"), ROLES)
def test_the_document_tells_the_truth(
    fuzzed: RunningGateway, pki: Pki, listener: str, principal: str
) -> None:
    result = _run(fuzzed, pki, listener, principal)
    figures = {k: v for k, v in result.items() if k != "details"}
    print(f"{listener} as {principal}: {figures}")  # the figures, with -s
    assert result["operations"] >= (9 if listener == "public" else 22)
    assert result["cases"] > result["operations"] * 5
    assert result["errors"] == []
    assert result["failures"] == [], "\n".join(result["details"])


def test_every_exclusion_names_its_reason() -> None:
    reasons = [*EXCLUDED_CHECKS.values(), *EXCLUDED_FOR.values()]
    assert all(reason.strip() for reason in reasons)
    named = set(EXCLUDED_CHECKS) | {check for _, check in EXCLUDED_FOR}
    assert named <= set(Path(schemathesis.__file__).parent.joinpath(
        "config", "_checks.py").read_text(encoding="utf-8").split('"'))  # fmt: skip
