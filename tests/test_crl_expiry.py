"""A CRL about to expire is said in the log before it locks every client out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from gateway.demo.network import DemoData
from gateway.ops.crl_expiry import CaNames, CrlExpiry
from tests.conftest import Pki, RunningGateway, make_settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _ca(pki: Pki) -> tuple[bytes, str]:
    ca = x509.load_pem_x509_certificate((pki.directory / "ca.crt").read_bytes())
    return ca.subject.public_bytes(), ca.subject.rfc4514_string()


def test_warns_once_per_crl_inside_the_margin_and_again_for_a_new_one(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="demarc.crl")
    issuer, name = _ca(pki)
    expiry = CrlExpiry(timedelta(days=2), CaNames(pki.directory / "ca.crt"))
    assert expiry.check({issuer: NOW + timedelta(days=3)}, NOW) == []
    soon = NOW + timedelta(hours=30)
    assert expiry.check({issuer: soon}, NOW) == [name]
    assert expiry.check({issuer: soon}, NOW + timedelta(hours=1)) == []  # said once
    assert expiry.check({issuer: soon + timedelta(hours=1)}, NOW) == [name]  # a new CRL
    messages = [r.getMessage() for r in caplog.records if r.name == "demarc.crl"]
    assert len(messages) == 2
    assert name in messages[0] and "expires in 30.0 hours" in messages[0]
    assert soon.isoformat() in messages[0]


def test_an_expired_crl_is_called_expired(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="demarc.crl")
    issuer, _ = _ca(pki)
    expiry = CrlExpiry(timedelta(days=2), CaNames(pki.directory / "ca.crt"))
    expiry.check({issuer: NOW - timedelta(minutes=5)}, NOW)
    assert "expired at" in caplog.records[-1].getMessage()


def test_a_running_gateway_warns_at_start_within_the_configured_margin(
    tmp_path: Path, pki: Pki, demo: DemoData, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="demarc.crl")
    crl = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    assert crl.next_update_utc is not None
    days_left = (crl.next_update_utc - datetime.now(UTC)).total_seconds() / 86400
    # a margin just wider than what is left: the gateway must say so as it starts
    settings = make_settings(tmp_path, pki, demo, crl_warning_days=days_left + 1)
    server = RunningGateway(settings).start()
    try:
        warned = [r.getMessage() for r in caplog.records if r.name == "demarc.crl"]
        assert len(warned) == 1 and crl.next_update_utc.isoformat() in warned[0]
        assert server.gateway.warn_crl_expiry() == []  # once per CRL, not every check
        # and staff see it in the status, from the CRL the TLS layer enforces
        with server.client("internal", "staff/alice", pki) as staff:
            crls = staff.get("/v1/admin/status").json()["crls"]
        _, name = _ca(pki)
        assert crls["check"] is True and crls["warning_days"] == days_left + 1
        (ca,) = crls["cas"]
        assert ca["ca"] == name and ca["warning"] is True
        assert datetime.fromisoformat(ca["next_update"]) == crl.next_update_utc
        assert 0 < ca["seconds_left"] <= days_left * 86400
    finally:
        server.stop()


def test_status_lists_every_ca_soonest_first_and_flags_missing_expired_and_close(
    pki: Pki,
) -> None:
    issuer, name = _ca(pki)
    expiry = CrlExpiry(timedelta(days=2), CaNames(pki.directory / "ca.crt"))
    (missing,) = expiry.status({}, NOW)  # the bundle's CA, with no CRL loaded
    assert (missing.ca, missing.next_update, missing.seconds_left) == (name, None, None)
    assert missing.warning is True
    other = b"an issuer not in the bundle"
    states = expiry.status({issuer: NOW + timedelta(days=3), other: NOW - timedelta(hours=1)},
                           NOW)  # fmt: skip
    assert [(s.ca, s.seconds_left, s.warning) for s in states] == [
        ("unknown CA", -3600.0, True),  # expired: refuses every client already
        (name, 3 * 86400.0, False),  # three days left, the margin is two
    ]
    (close,) = expiry.status({issuer: NOW + timedelta(days=2)}, NOW)
    assert close.warning is True  # at the margin


def test_status_without_crl_checking_lists_nothing(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server = RunningGateway(make_settings(tmp_path, pki, demo, tls_crl_check=False),
                            in_process=True).start()  # fmt: skip
    try:
        with server.client("internal", "staff/alice", pki) as staff:
            crls = staff.get("/v1/admin/status").json()["crls"]
        assert crls == {"check": False, "warning_days": 2.0, "cas": []}
    finally:
        server.stop()


def test_status_of_an_app_not_serving_tls_reads_the_crl_files(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    crl = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    server = RunningGateway(make_settings(tmp_path, pki, demo), in_process=True).start()
    try:
        with server.client("internal", "staff/alice", pki) as staff:
            (ca,) = staff.get("/v1/admin/status").json()["crls"]["cas"]
        assert datetime.fromisoformat(ca["next_update"]) == crl.next_update_utc
    finally:
        server.stop()
