"""Every spelling of a term as it may appear in a body: address forms, JSON and URL encodings."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import quote

from gateway.leakguard.terms import TermClass, parse_ip


def ipv6_forms(ip: ipaddress.IPv6Address) -> set[str]:
    """Exploded, unpadded, and the mixed forms with the last 32 bits as an IPv4 address."""
    exploded, v4 = ip.exploded, str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    groups = [g.lstrip("0") or "0" for g in exploded.split(":")]
    forms = {exploded, ":".join(groups), exploded[:30] + v4, ":".join(groups[:6]) + ":" + v4}
    # with "1:1" as the last 32 bits, ipaddress compresses the first 96 bits alone
    forms.add(str(ipaddress.IPv6Address(int(ip) >> 32 << 32 | 0x10001))[:-3] + v4)
    if ip.ipv4_mapped is not None:
        forms.add(str(ip.ipv4_mapped))
    return forms


def spellings(term: str, cls: TermClass) -> dict[str, bool]:
    """Each spelling of a term, and whether to add its encodings: for IPv6, only the usual two."""
    if cls is not TermClass.ADDRESS:
        return {term: True}
    if ":" not in term:  # IPv4 has one spelling (leading zeros are not valid), with or without /len
        return {term: True, term.partition("/")[0]: True}
    ip = parse_ip(term)
    if not isinstance(ip, ipaddress.IPv6Address):
        return {term: True}
    return {**dict.fromkeys(ipv6_forms(ip), False), term: True, str(ip): True}


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-")
_JSON_SPECIAL = frozenset('"\\')


def encodings(form: str) -> set[str]:
    """A form as it may appear in a body: as written, JSON-escaped, URL-encoded."""
    special = set(form) - _PLAIN  # the same in JSON and URL-encoded when empty
    if not special:
        return {form}
    if form.isascii() and form.isprintable() and not special & _JSON_SPECIAL:
        full = form.replace("%", "%25") if "%" in special else form
        for char in special - {"%"}:  # quote() is several times slower; spellings are many
            full = full.replace(char, f"%{ord(char):02X}")
        escaped = [form]
    else:
        full = quote(form, safe="")
        escaped = [json.dumps(form, ensure_ascii=a)[1:-1] for a in (True, False)]
    path = full.replace("%2F", "/")  # path-style and scheme-style encoders keep these
    out = {form, full, path, path.replace("%3A", ":")}
    if special & {"<", ">", "&"}:  # Go and other HTML-safe encoders escape these too
        escaped += [
            e.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            for e in escaped
        ]
    out |= {e.replace("/", "\\/") for e in escaped} | set(escaped)
    return out | {e.replace("%20", "+") for e in out if "%20" in e}
