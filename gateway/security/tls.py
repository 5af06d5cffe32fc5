"""Server TLS: a strict mTLS context, reloadable, and the checks a handshake alone does not make.

Each new connection takes the TLS state current when it arrives, so CA bundle, CRLs and server
certificate reload without a restart and without touching connections already open.
"""

from __future__ import annotations

import logging
import ssl
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.errors import ConfigError
from gateway.security.crl import CrlSet, load_crls

log = logging.getLogger("demarc.tls")

# ECDHE key exchange with AEAD ciphers only (TLS 1.2); TLS 1.3 suites are all AEAD
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
MIN_RSA_BITS = 2048
_FOREVER = datetime.max.replace(tzinfo=UTC)  # a verdict no clock changes


def server_context(cert: Path, key: Path, ca: Path, crls: list[Path] | None) -> ssl.SSLContext:
    """TLS ≥ 1.2, ECDHE+AEAD, client certificate required, no session tickets, CRLs checked.

    Tickets are off so that a client whose certificate was revoked cannot resume a session and
    skip the certificate check (DESIGN.md); session-ID resumption is caught per connection by
    ``TlsState.refuse``. With ``crls`` given, OpenSSL checks every certificate of the chain
    against its issuer's CRL and refuses it when the CRL is missing or expired: fail closed.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(CIPHERS)
    ctx.options |= ssl.OP_NO_TICKET | ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.num_tickets = 0
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    ctx.load_verify_locations(cafile=str(ca))
    if crls is not None:
        for crl in crls:
            if crl.exists():
                ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    return ctx


class Rejections:
    """Every refused client, counted by reason and logged with it (uvicorn logs none)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def record(self, reason: str, peer: object = None) -> None:
        self.counts[reason] += 1
        host = peer[0] if isinstance(peer, tuple) and peer else "unknown"
        log.warning("refused TLS client %s: %s", host, reason)


@dataclass(frozen=True)
class _Files:
    cert: Path
    key: Path
    ca: Path
    crls: tuple[Path, ...]
    check_crls: bool

    def stamp(self) -> tuple[tuple[str, float, int], ...]:
        out = []
        for path in (self.cert, self.key, self.ca, *self.crls):
            try:
                st = path.stat()
                out.append((str(path), st.st_mtime, st.st_size))
            except OSError:
                out.append((str(path), -1.0, -1))
        return tuple(out)


class TlsState:
    """The current SSL context and CRLs; ``reload`` swaps both, keeping the last good ones."""

    def __init__(
        self,
        cert: Path,
        key: Path,
        ca: Path,
        crls: list[Path],
        *,
        check_crls: bool = True,
        rejections: Rejections | None = None,
    ) -> None:
        self._files = _Files(cert, key, ca, tuple(crls), check_crls)
        self.rejections = rejections or Rejections()
        self.generation = 0
        self._stamp: tuple[tuple[str, float, int], ...] = ()
        # der → (generation, verdict, the instant it stops holding)
        self._verdicts: dict[bytes, tuple[int, str | None, datetime]] = {}
        self.context: ssl.SSLContext
        self.crls = CrlSet()
        self._error = ""
        if not self.reload():
            raise ConfigError(
                f"cannot load the TLS configuration ({cert}, {key}, {ca}): {self._error}; "
                "check that the files exist, are readable, and that the key matches"
            )

    def reload(self) -> bool:
        """Rebuild from the files; on any error keep serving with what was loaded before."""
        files = self._files
        stamp = files.stamp()
        try:
            crl_paths = list(files.crls) if files.check_crls else None
            context = server_context(files.cert, files.key, files.ca, crl_paths)
            crls = load_crls(files.crls, files.ca, datetime.now(UTC)) if files.check_crls else None
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._error = str(exc)
            if self.generation:  # at start there is no previous one: the caller says so
                log.error("TLS reload failed, the previous configuration stays: %s", exc)
            return False
        self.context = context
        self.crls = crls if crls is not None else CrlSet()
        self._stamp = stamp
        self.generation += 1
        self._verdicts.clear()
        for problem in self.crls.problems:
            log.error("%s", problem)
        log.info("TLS configuration loaded (generation %d)", self.generation)
        return True

    def reload_if_changed(self) -> bool:
        """Reload when a file changed (a CRL's expiry bounds each cached verdict itself)."""
        if self._files.stamp() != self._stamp:
            return self.reload()
        return False

    def refuse(self, der: bytes | None) -> str | None:
        """Why this verified client certificate must be refused now, or None to accept it.

        Made after every handshake (a resumed TLS 1.2 session skips OpenSSL's checks) and on
        every request (a connection opened before a revocation must not stay usable).
        """
        if der is None:
            return "no-certificate"
        now = datetime.now(UTC)
        hit = self._verdicts.get(der)
        if hit is not None and hit[0] == self.generation and now < hit[2]:
            return hit[1]
        verdict, until = self._judge(der, now)
        if len(self._verdicts) > 100_000:
            self._verdicts.clear()
        self._verdicts[der] = (self.generation, verdict, until)
        return verdict

    def _judge(self, der: bytes, now: datetime) -> tuple[str | None, datetime]:
        """The verdict, and until when it holds: a certificate's dates and its CRL's
        nextUpdate bound every cached "accept" (a long keep-alive outlives either)."""
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return "bad-certificate", _FOREVER
        verdict = _static_reason(cert)
        if verdict is not None:
            return verdict, _FOREVER
        if now < cert.not_valid_before_utc:
            return "not-yet-valid", cert.not_valid_before_utc
        if now >= cert.not_valid_after_utc:
            return "expired", _FOREVER
        until = cert.not_valid_after_utc
        if self._files.check_crls:
            expiry = self.crls.next_update.get(cert.issuer.public_bytes())
            if expiry is not None and expiry > now:
                until = min(until, expiry)
            return self.crls.reason(cert, now), until
        return None, until


def _static_reason(cert: x509.Certificate) -> str | None:
    """What is wrong with a certificate whatever the time: role, usage, key."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return "ca-as-client"
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "no-eku"
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        return "wrong-eku"
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return "weak-key"
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return "unsupported-key"
    return None


_VERIFY_REASONS = {
    "certificate has expired": "expired",
    "certificate is not yet valid": "not-yet-valid",
    "certificate revoked": "revoked",
    "unable to get certificate CRL": "crl-missing",
    "CRL has expired": "crl-expired",
    "CRL is not yet valid": "crl-not-yet-valid",
    "unable to get local issuer certificate": "untrusted-ca",
    "self-signed certificate": "self-signed",
    "self signed certificate": "self-signed",
    "self-signed certificate in certificate chain": "untrusted-ca",
    "unsupported certificate purpose": "wrong-eku",
    "unsuitable certificate purpose": "wrong-eku",
    "certificate signature failure": "untrusted-ca",
    "EE certificate key too weak": "weak-key",
    "CA certificate key too weak": "weak-key",
}
_SSL_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no-certificate",
    "HTTP_REQUEST": "plain-http",
    "UNSUPPORTED_PROTOCOL": "old-protocol",
    "WRONG_VERSION_NUMBER": "old-protocol",
    "NO_SHARED_CIPHER": "no-shared-cipher",
}


def classify(exc: BaseException) -> str:
    """A short, stable reason for a failed handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = str(exc.verify_message or "")
        return _VERIFY_REASONS.get(message, "verify-failed")
    if isinstance(exc, ssl.SSLError):
        return _SSL_REASONS.get(str(exc.reason), f"tls-{str(exc.reason or 'error').lower()}")
    if isinstance(exc, TimeoutError | ConnectionError):
        return "handshake-aborted"
    return "handshake-error"
