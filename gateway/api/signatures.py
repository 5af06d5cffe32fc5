"""RFC 9421 signatures on the public listener's answers, for a peer to archive and prove.

A client that sends ``Accept-Signature`` (RFC 9421, section 5.1) gets, on every 200 answer
with a body (views, pages, items, events, feeds, TMF answers), a ``Content-Digest`` (RFC 9530,
SHA-256 of the body) and a signature labelled ``demarc`` over the status, the content type,
that digest and the ETag, made with the key of the gateway's own TLS certificate: the
certificate the peer's TLS client already checked against the CA. Kept with the body, it proves
later what the operator published, at which revision (the body's envelope says), and when
(``created``). What the client asks for in ``Accept-Signature`` is not parsed: the gateway
always signs these components, under this label.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

log = logging.getLogger("demarc.signatures")

LABEL = "demarc"
_MEMO = 8192  # signatures kept per (status, type, digest, ETag): a view is signed once


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` of ``body``."""
    return f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"


def signature_base(fields: list[tuple[str, str]], params: str) -> bytes:
    """RFC 9421 section 2.5: one line per covered component, then ``@signature-params``."""
    lines = [f'"{name}": {value}' for name, value in fields]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("utf-8")


class Signer:
    """Signs with an ECDSA P-256 (``ecdsa-p256-sha256``) or Ed25519 (``ed25519``) key."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
        certificate: x509.Certificate,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._clock = clock
        self.alg = "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "ecdsa-p256-sha256"
        # the certificate's SHA-256 fingerprint: what the peer sees in the TLS handshake
        der = certificate.public_bytes(serialization.Encoding.DER)
        self.keyid = "sha256:" + hashlib.sha256(der).hexdigest()
        self._memo: OrderedDict[tuple[str, ...], tuple[str, str]] = OrderedDict()

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> Signer | None:
        """The signer of the gateway's TLS key; None (no signatures) when it cannot sign."""
        try:
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            log.info("responses are not signed: the TLS key cannot be read (%s)", exc)
            return None
        usable = isinstance(key, ed25519.Ed25519PrivateKey) or (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        )
        if not usable:
            log.info("responses are not signed: the TLS key is neither P-256 nor Ed25519")
            return None
        return cls(key, certificate)  # type: ignore[arg-type]

    def sign(
        self, status: int, content_type: str, digest: str, etag: str | None
    ) -> tuple[str, str]:
        """(Signature-Input, Signature) field values for one answer."""
        memo_key = (str(status), content_type, digest, etag or "")
        hit = self._memo.get(memo_key)
        if hit is not None:
            self._memo.move_to_end(memo_key)
            return hit
        fields = [("@status", str(status)), ("content-type", content_type),
                  ("content-digest", digest)]  # fmt: skip
        if etag is not None:
            fields.append(("etag", etag))
        covered = " ".join(f'"{name}"' for name, _ in fields)
        params = (f'({covered});created={int(self._clock())};keyid="{self.keyid}"'
                  f';alg="{self.alg}";tag="{LABEL}"')  # fmt: skip
        base = signature_base(fields, params)
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            raw = self._key.sign(base)
        else:
            r, s = decode_dss_signature(self._key.sign(base, ec.ECDSA(hashes.SHA256())))
            raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 9421 3.3.4: r || s
        hit = (f"{LABEL}={params}", f"{LABEL}=:{_b64(raw)}:")
        self._memo[memo_key] = hit
        while len(self._memo) > _MEMO:
            self._memo.popitem(last=False)
        return hit


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class SignedResponses:
    """Adds the signature to the answers of requests that carry ``Accept-Signature``."""

    def __init__(self, app: Any, signer: Signer | None) -> None:
        self.app = app
        self._signer = signer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        signer = self._signer
        if (
            signer is None
            or scope["type"] != "http"
            or not any(k == b"accept-signature" for k, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def signed(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = list(start.get("headers", []))
            content_type = _header(headers, b"content-type")
            if start["status"] == 200 and body and content_type is not None:
                digest = content_digest(body)
                signature_input, signature = signer.sign(
                    200, content_type, digest, _header(headers, b"etag")
                )
                headers += [
                    (b"content-digest", digest.encode("ascii")),
                    (b"signature-input", signature_input.encode("ascii")),
                    (b"signature", signature.encode("ascii")),
                ]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, signed)
