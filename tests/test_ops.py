"""Running it: offline docs, the ops listener (metrics, liveness, readiness), the access log."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import Gateway
from gateway.demo.network import DemoData
from gateway.ops.access import AccessLog
from gateway.ops.accesslines import AccessLine, AccessLines
from gateway.ops.logs import configure_logging
from gateway.ops.metrics import Metrics
from tests.conftest import JSON_BODY, SOURCE, UNREGISTERED, Pki, RunningGateway, feed, make_settings

PEER = "peer/acme"
T = TypeVar("T")


@pytest.fixture(scope="module")
def ops_served(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    data_dir = tmp_path_factory.mktemp("ops")
    server = RunningGateway(make_settings(data_dir, pki, demo), ops=True)
    server.start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _ops(server: RunningGateway, path: str) -> httpx.Response:
    # plain HTTP, no client certificate: what Prometheus and a container health check have
    return httpx.get(f"http://127.0.0.1:{server.ops_port}{path}", timeout=10)


def _samples(server: RunningGateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = _ops(server, "/metrics")
    assert response.status_code == 200
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    return samples.get((name, frozenset(labels.items())), 0.0)


def _eventually(check: Callable[[], T], timeout: float = 10.0) -> T:
    """The access log and request metrics are written just after the last byte is sent, so
    a client can see its response first: wait (bounded) for them."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


def _access_lines(
    server: RunningGateway, capsys: pytest.CaptureFixture[str], want: Callable[[Any], bool]
) -> list[Any]:
    """The access lines on stderr (as an operator reads them) that ``want`` accepts; the
    writer is flushed rather than waited for, but a line is only added after the last byte."""
    seen: list[Any] = []
    # access lines follow the demarc.access logger's level, as `demarc serve` sets it (info)
    assert logging.getLogger("demarc.access").isEnabledFor(logging.INFO)

    def read() -> list[Any]:
        server.gateway.access_lines.flush()
        err = capsys.readouterr().err
        seen.extend(msgspec.json.decode(line) for line in err.splitlines() if line[:1] == "{")
        return [x for x in seen if x.get("logger") == "demarc.access" and want(x)]

    return _eventually(read)


def test_liveness_and_readiness_without_a_client_certificate(ops_served: RunningGateway) -> None:
    assert _ops(ops_served, "/livez").json() == {"live": True}
    ready = _ops(ops_served, "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["audiences_without_views"] == []
    g = ops_served.gateway
    served = [a for a in g.registry.audiences() if g.policies.for_audience(a) is not None]
    assert body["audiences_served"] == len(served) > 0
    assert body["views_revision"] == body["data_revision"] > 0


def test_not_ready_before_start(tmp_path: Path, pki: Pki, demo: DemoData) -> None:
    gateway = Gateway(make_settings(tmp_path, pki, demo))
    ready, detail = gateway.readings.readiness()
    assert (ready, detail["ready"]) == (False, False)
    assert "starting" in detail["reason"]


def test_without_policies_it_is_ready_serves_nothing_and_says_so(
    tmp_path: Path, pki: Pki, demo: DemoData, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="demarc.app")
    empty = tmp_path / "policies"
    empty.mkdir()
    server = RunningGateway(make_settings(tmp_path / "data", pki, demo, policies_dir=empty),
                            ops=True).start()  # fmt: skip
    try:
        body = _ops(server, "/readyz").json()
        assert body["ready"] is True
        assert body["audiences_served"] == 0
        assert "default deny" in body["note"]
        said = [r.getMessage() for r in caplog.records if r.name == "demarc.app"]
        assert len(said) == 1 and "nothing is published" in said[0] and str(empty) in said[0]
        with httpx.Client(base_url=server.public_url, verify=pki.context(PEER)) as client:
            assert client.get("/v1/views").json()["views"] == []
    finally:
        server.stop()


def test_requests_are_counted_by_listener_route_status_and_role(
    ops_served: RunningGateway, pki: Pki
) -> None:
    before = _samples(ops_served)
    with httpx.Client(base_url=ops_served.public_url, verify=pki.context(PEER)) as client:
        for _ in range(3):
            assert client.get("/v1/interconnects").status_code == 200
        assert client.get("/v1/no-such-view").status_code == 404
    ok = {"listener": "public", "route": "/v1/interconnects", "status": "200", "role": "peer"}
    missing = {"listener": "public", "route": "unmatched", "status": "404", "role": "peer"}
    name = "demarc_requests_total"
    after = _eventually(
        lambda: (
            (s := _samples(ops_served))
            and _value(s, name, **ok) - _value(before, name, **ok) >= 3
            and _value(s, name, **missing) > _value(before, name, **missing)
            and s
        )
    )
    assert _value(after, name, **ok) - _value(before, name, **ok) == 3  # fmt: skip
    timed = {"listener": "public", "route": "/v1/interconnects"}
    count = "demarc_request_duration_seconds_count"
    assert _value(after, count, **timed) - _value(before, count, **timed) == 3
    assert _value(after, name, **missing) - _value(before, name, **missing) == 1


def test_refusals_are_counted_and_logged_with_the_presented_identity(
    ops_served: RunningGateway,
    pki: Pki,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demarc.access")
    before = _samples(ops_served)
    with httpx.Client(base_url=ops_served.public_url, verify=pki.context(UNREGISTERED)) as client:
        assert client.get("/v1/interconnects").status_code == 403
    refused = {"listener": "public", "route": "unmatched", "status": "403", "role": "none"}
    after = _eventually(
        lambda: (
            (s := _samples(ops_served))
            and _value(s, "demarc_requests_total", **refused)
            > _value(before, "demarc_requests_total", **refused)
            and s
        )
    )
    reason = {"reason": "unknown-principal"}
    name = "demarc_tls_rejections_total"
    assert _value(after, name, **reason) - _value(before, name, **reason) == 1
    role, who = UNREGISTERED.split("/")
    cert = x509.load_pem_x509_certificate((pki.directory / f"{role}-{who}.crt").read_bytes())
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    lines = _access_lines(ops_served, capsys, lambda x: x.get("presented_sha256") == fingerprint)
    assert lines, "the refusal names the certificate's fingerprint"
    line = lines[-1]
    assert line["presented_spiffe"] == f"spiffe://demarc.example/{UNREGISTERED}"
    assert line["status"] == 403 and line["principal"] is None


def test_access_log_line_per_request(
    ops_served: RunningGateway,
    pki: Pki,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demarc.access")
    with httpx.Client(base_url=ops_served.public_url, verify=pki.context(PEER)) as client:
        response = client.get("/v1/alarms")
    assert response.status_code == 200
    lines = _access_lines(ops_served, capsys, lambda x: x["route"] == "/v1/alarms")
    assert len(lines) == 1
    line = lines[0]
    assert line["principal"] == PEER
    assert line["listener"] == "public"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["bytes"] == len(response.content)
    assert line["revision"] == int(response.headers["demarc-revision"])
    assert line["duration_ms"] > 0
    assert "presented_sha256" not in line  # only a refusal names what was presented
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_ingest_commits_batches_renders_and_freshness(ops_served: RunningGateway, pki: Pki) -> None:
    before = _samples(ops_served)
    alarm = {"alarms": [{"id": "ops-test-1", "resource": {"node": "p1.lon2.core.example.net"},
                         "severity": "minor", "raised_at": datetime.now(UTC).isoformat(),
                         "probable_cause": "lossOfSignal"}]}  # fmt: skip
    with httpx.Client(base_url=ops_served.internal_url, verify=pki.context(SOURCE)) as client:
        response = client.post(
            "/v1/ingest/alarms", content=msgspec.json.encode(alarm), headers=JSON_BODY
        )
    assert response.status_code == 200, response.text
    revision = response.json()["revision"]
    ops_served.call(ops_served.gateway.refresher.wait_for(revision))
    after = _samples(ops_served)
    assert _value(after, "demarc_ingest_commits_total") - _value(
        before, "demarc_ingest_commits_total") == 1  # fmt: skip
    assert _value(after, "demarc_ingest_batch_changes_sum") - _value(
        before, "demarc_ingest_batch_changes_sum") == 1  # fmt: skip
    assert _value(after, "demarc_view_render_seconds_count") > _value(
        before, "demarc_view_render_seconds_count")  # fmt: skip
    assert _value(after, "demarc_data_revision") == revision
    assert _value(after, "demarc_views_revision") == revision
    assert _value(after, "demarc_view_lag_revisions") == 0


def test_crl_next_update_per_ca_and_build_info(ops_served: RunningGateway, pki: Pki) -> None:
    samples = _samples(ops_served)
    ca = x509.load_pem_x509_certificate((pki.directory / "ca.crt").read_bytes())
    crl = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    assert crl.next_update_utc is not None
    name = ca.subject.rfc4514_string()
    got = _value(samples, "demarc_crl_next_update_timestamp_seconds", ca=name)
    assert got == crl.next_update_utc.timestamp()
    build = [k for k in samples if k[0] == "demarc_build_info"]
    assert len(build) == 1 and ("version", "0.1.0") in build[0][1]


def test_metrics_name_no_internal_identifier(
    ops_served: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    nodes = [n["node-id"] for n in demo.topology["ietf-network:networks"]["network"][0]["node"]]
    with httpx.Client(base_url=ops_served.public_url, verify=pki.context(PEER)) as client:
        assert client.get(f"/v1/services/{nodes[0]}").status_code == 404
        assert client.get(f"/v1/{nodes[1]}").status_code == 404
    text = _ops(ops_served, "/metrics").text
    assert not [n for n in nodes if n in text]
    assert not re.search(r"\b(10|192\.168|198\.51\.100|203\.0\.113)\.\d+\.\d+", text)


def _line(lines: AccessLines, **fields: Any) -> AccessLine:
    base: dict[str, Any] = {
        "principal": PEER, "listener": "public", "method": "GET", "route": "/v1/alarms",
        "status": 200, "bytes": 2731, "duration_ms": 0.912, "revision": 6,
    }  # fmt: skip
    return AccessLine(lines.clock(), "INFO", "demarc.access", "request", **{**base, **fields})


def test_logs_are_one_json_object_per_line_and_access_lines_are_in_the_same_format() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("info", stream)
    fields: dict[str, Any] = {"principal": PEER, "route": "/v1/alarms", "status": 200}
    try:
        logging.getLogger("demarc.access").info("request", extra=fields)
        logging.getLogger("uvicorn.error").warning(
            "a server message", extra={"color_message": "a \x1b[36mserver\x1b[0m message"}
        )
    finally:
        root.handlers[:] = handlers  # as they were
        root.setLevel(level)
    first, second = (msgspec.json.decode(line) for line in stream.getvalue().splitlines())
    assert first["logger"] == "demarc.access" and first["level"] == "INFO"
    assert (first["principal"], first["route"], first["status"]) == (PEER, "/v1/alarms", 200)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert second["logger"] == "uvicorn.error" and second["message"] == "a server message"
    assert "color_message" not in second

    # the access writer, outside logging, writes what the formatter writes for the same fields
    out = io.StringIO()
    lines = AccessLines(lambda: out)
    lines.add(_line(lines))
    assert lines.flush() == 1
    stream = io.StringIO()
    configure_logging("info", stream)
    try:
        record = {k: v for k, v in msgspec.structs.asdict(_line(lines)).items()
                  if k not in ("time", "level", "logger", "message", "presented_spiffe",
                               "presented_sha256")}  # fmt: skip
        logging.getLogger("demarc.access").info("request", extra=record)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    ours, theirs = msgspec.json.decode(out.getvalue()), msgspec.json.decode(stream.getvalue())
    assert out.getvalue().count("\n") == 1 and out.getvalue().endswith("\n")
    assert list(ours) == list(theirs)  # the same keys in the same order
    assert {**ours, "time": None} == {**theirs, "time": None}


def test_access_lines_pending_at_shutdown_are_all_written_in_order() -> None:
    out = io.StringIO()
    lines = AccessLines(lambda: out, interval=3600)  # the writer never wakes by itself
    lines.start()
    for n in range(1000):
        lines.add(_line(lines, bytes=n))
    assert out.getvalue() == ""  # nothing written on the request path
    lines.close()
    written = [msgspec.json.decode(x) for x in out.getvalue().splitlines()]
    assert [x["bytes"] for x in written] == list(range(1000))


def test_access_lines_beyond_the_bound_are_dropped_counted_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="demarc.access")
    out = io.StringIO()
    lines = AccessLines(lambda: out, max_pending=3)
    for n in range(5):
        lines.add(_line(lines, bytes=n))
    assert lines.flush() == 3 and lines.dropped == 2
    assert [msgspec.json.decode(x)["bytes"] for x in out.getvalue().splitlines()] == [0, 1, 2]
    assert [r.getMessage() for r in caplog.records] == [
        "access log: 2 lines dropped, stderr blocked"
    ]


def test_access_log_off_still_counts_and_still_logs_refusals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demarc.access")
    metrics = Metrics("test")
    out = io.StringIO()
    lines = AccessLines(lambda: out)

    def app_answering(status: int) -> Callable[..., Awaitable[None]]:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        return app

    async def send(message: dict[str, Any]) -> None:
        return None

    for status in (200, 403):
        wrapped = AccessLog(app_answering(status), "public", metrics, lambda s: None, lines,
                            log_requests=False)  # fmt: skip
        scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
        asyncio.run(wrapped(scope, None, send))
    lines.flush()
    logged = [msgspec.json.decode(x)["status"] for x in out.getvalue().splitlines()]
    assert logged == [403]
    for status in ("200", "403"):
        labels = {"listener": "public", "route": "unmatched", "status": status, "role": "none"}
        assert metrics.registry.get_sample_value("demarc_requests_total", labels) == 1


def test_a_gateway_stopping_writes_every_access_line_it_owes(
    tmp_path: Path,
    pki: Pki,
    demo: DemoData,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demarc.access")
    # a principal no other test here uses: the module's gateway may still be writing its lines
    who = "customer/initech"
    server = RunningGateway(make_settings(tmp_path, pki, demo), in_process=True).start()
    try:
        with server.client("public", who, pki) as client:
            statuses = [client.get(f"/v1/no-such-view-{n}").status_code for n in range(25)]
        assert statuses == [404] * 25
    finally:
        server.stop()
    err = capsys.readouterr().err
    lines = [msgspec.json.decode(x) for x in err.splitlines() if x[:1] == "{"]
    answered = [x["status"] for x in lines
                if x.get("logger") == "demarc.access" and x["principal"] == who]  # fmt: skip
    assert answered == [404] * 25
