"""``demarc pki``: a development PKI (CA, client certificates, revocation, CRLs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _pki_init(args: argparse.Namespace) -> int:
    from gateway.pki import init_pki

    init_pki(args.dir, server_names=args.server_name, force=args.force)
    print(f"CA and server certificate in {args.dir}/ (ca.crt, server.crt)")
    return 0


def _pki_issue(args: argparse.Namespace) -> int:
    from gateway.pki import issue_principal

    cert, key = issue_principal(args.dir, args.trust_domain, args.role, args.name, args.issuer)
    print(f"{cert}\n{key}")
    return 0


def _pki_revoke(args: argparse.Namespace) -> int:
    from gateway.pki import revoke

    serial = revoke(args.dir, args.cert)
    print(f"revoked serial {serial:x}; {args.dir}/crl.pem rewritten (servers reload it)")
    return 0


def _pki_crl(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from gateway.pki import write_crls

    print(write_crls(args.dir, timedelta(days=args.days)))
    return 0


def _pki_intermediate(args: argparse.Namespace) -> int:
    from gateway.pki import init_intermediate

    print(init_intermediate(args.dir, args.name))
    return 0


def _pki_rotate(args: argparse.Namespace) -> int:
    from gateway.pki import rotate_server

    cert, key = rotate_server(args.dir, args.server_name)
    print(f"{cert}\n{key}")
    return 0


DIR = "the PKI directory (default: %(default)s)"
NAMES = "a DNS name of the server, repeatable (default: localhost, which is always included)"


def add_commands(sub: Any) -> None:
    pki = sub.add_parser("pki", help="a development PKI").add_subparsers(dest="pki", required=True)
    init = pki.add_parser("init", help="create the CA and the server certificate")
    init.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    init.add_argument("--server-name", action="append", default=["localhost"], help=NAMES)
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(func=_pki_init)
    issue = pki.add_parser("issue", help="issue a client certificate for a principal")
    issue.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    issue.add_argument("--role", required=True, choices=["source", "staff", "peer", "customer"],
                       help="the principal's role")  # fmt: skip
    issue.add_argument("--name", required=True, help="the principal's name, e.g. acme")
    issue.add_argument("--trust-domain", default="demarc.example",
                       help="of the SPIFFE id spiffe://<domain>/<role>/<name> "
                       "(default: %(default)s)")  # fmt: skip
    issue.add_argument("--issuer", default="ca",
                       help="ca, or intermediate-<name> (default: %(default)s)")  # fmt: skip
    issue.set_defaults(func=_pki_issue)
    revoke = pki.add_parser("revoke", help="revoke a certificate and rewrite crl.pem")
    revoke.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    revoke.add_argument("--cert", type=Path, required=True, help="the certificate to revoke")
    revoke.set_defaults(func=_pki_revoke)
    crl = pki.add_parser("crl", help="re-sign crl.pem (run before nextUpdate passes)")
    crl.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    crl.add_argument(
        "--days", type=int, default=7, help="nextUpdate, in days from now (default: %(default)s)"
    )
    crl.set_defaults(func=_pki_crl)
    inter = pki.add_parser("intermediate", help="create an intermediate CA under the root")
    inter.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    inter.add_argument("--name", required=True, help="intermediate-<name>.crt/.key")
    inter.set_defaults(func=_pki_intermediate)
    rotate = pki.add_parser("rotate-server", help="a new server key and certificate")
    rotate.add_argument("--dir", type=Path, default=Path(".demarc/pki"), help=DIR)
    rotate.add_argument("--server-name", action="append", default=["localhost"], help=NAMES)
    rotate.set_defaults(func=_pki_rotate)
