"""The leak guard: internal terms an audience must not see, found in a body in one pass."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import ahocorasick  # type: ignore[import-not-found]

from gateway.model import Kind, LinkKind, ResourceRef, Snapshot


class TermClass(StrEnum):
    NODE_ID = "node_id"
    NODE_NAME = "node_name"
    TP_NAME = "tp_name"
    LINK_ID = "link_id"
    LINK_NAME = "link_name"
    SITE = "site"
    ADDRESS = "address"
    URL = "url"
    HOSTNAME = "hostname"
    LABEL_VALUE = "label_value"
    TEXT_TOKEN = "text_token"
    SERVICE_ID = "service_id"
    SERVICE_NAME = "service_name"
    ALARM_ID = "alarm_id"
    MAINTENANCE_ID = "maintenance_id"
    NETWORK_ID = "network_id"


class Hit(NamedTuple):
    """One internal term found in a body: its class, a digest of it and where; never the term."""

    term_class: TermClass
    digest: str  # sha256 of the term, first 12 hex
    offset: int  # byte offset of the match in the body, as sent


@dataclass(frozen=True, slots=True)
class DisclosedTerms:
    """What the audience's policy discloses on purpose; none of it is a leak to that audience."""

    circuit_names: frozenset[str] = frozenset()  # its interconnects' names, when ids are shared
    remote_ids: frozenset[str] = frozenset()  # the peer's own ids of its ends of interconnects
    service_ids: frozenset[str] = frozenset()  # its own service ids, when ids are shared
    service_names: frozenset[str] = frozenset()  # its own service names, when names are shown
    texts: frozenset[str] = frozenset()  # free text kept as is (text: keep); terms inside it too
    other: frozenset[str] = frozenset()  # anything else published as is (shared alarm ids, ...)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every term to look for, by its canonical spelling (addresses compressed)."""

    terms: Mapping[str, TermClass] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.terms)


MIN_LENGTH = 3  # shorter terms match all over ordinary bodies
_GENERIC = frozenset({  # values every view legitimately carries
    "critical", "major", "minor", "warning", "indeterminate", "cleared", "info", "page", "none",
    "null", "true", "false", "yes", "up", "down", "unknown", "degraded", "active", "resolved",
    "firing", "scheduled", "in-progress", "completed", "cancelled", "internal", "interconnect",
    "access", "internet", "core", "edge", "default", "prod", "production", "staging", "test",
    "status", "name", "type", "text",
})  # fmt: skip
_SKIP_LABELS = frozenset({"severity", "alertname", "priority"})  # published as severity/cause
# numbers, ports like 1/1/1, dates, times, 2026-11-28T08:45:00Z, 2.3e-5: every view has them
_NUMBERISH = re.compile(r"[\d.,:/_%+-]*\d[\d.,:/_%+-]*(?:[eE][-+]?\d+|[Tt][\d:.]+)?[Zz]?")
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]", re.I)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.I)
_SPLIT = re.compile(r"[\s,;()\[\]{}<>\"'=|]+")
_LETTER, _DIGIT = re.compile(r"[A-Za-z]"), re.compile(r"\d")

Terms = dict[str, TermClass]


def _add(out: Terms, cls: TermClass, value: str | None) -> None:
    term = (value or "").strip()
    if len(term) < MIN_LENGTH or term.lower() in _GENERIC:
        return
    if cls is not TermClass.ADDRESS and _NUMBERISH.fullmatch(term):
        return
    out.setdefault(term, cls)


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = value.strip().strip("[]").split("/", 1)[0].split("%", 1)[0]  # prefix length, zone
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return None


def _address(out: Terms, value: str | None, *, loose: bool = False) -> bool:
    """Add ``value`` if it is an address; ``loose`` keeps an unparsable one as written."""
    ip = _parse_ip(value or "")
    if ip is None:
        if loose:
            _add(out, TermClass.ADDRESS, value)
        return False
    if not (ip.is_loopback or ip.is_unspecified):  # the same on every host: not a secret
        out.setdefault(str(ip), TermClass.ADDRESS)
    return True


def _host(out: Terms, value: str | None) -> None:
    if not value or _address(out, value):
        return
    if _HOSTNAME.fullmatch(value):
        _add(out, TermClass.HOSTNAME, value)
        # the host's own label names the machine even without its domain (prometheus-1)
        _add(out, TermClass.HOSTNAME, value.split(".", 1)[0])
    elif re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value):  # a bare host name: router7
        _add(out, TermClass.HOSTNAME, value)


def _url(out: Terms, value: str) -> None:
    _add(out, TermClass.URL, value)
    with contextlib.suppress(ValueError):  # a malformed port: the URL is still a term
        _host(out, urlsplit(value).hostname)


def _text(out: Terms, text: str) -> None:
    """Distinctive tokens of withheld free text: addresses, URLs, ids; not English words."""
    for url in _URL.findall(text):
        _url(out, url.rstrip(".,;:!?"))
    for raw in _SPLIT.split(text):
        token = raw.strip(".:!?*`")
        if _address(out, token) or _address(out, token.rpartition(":")[0]):
            continue  # an address, or host:port
        if len(token) < 6 or not _LETTER.search(token):
            continue
        if _DIGIT.search(token) or "." in token or token.count("/") >= 2:
            dotted = token.count(".") >= 2 and _HOSTNAME.fullmatch(token)
            _add(out, TermClass.HOSTNAME if dotted else TermClass.TEXT_TOKEN, token)


def _label(out: Terms, key: str, value: str) -> None:
    if key in _SKIP_LABELS:
        return
    if "://" in value:
        _url(out, value)
    elif " " in value:
        _text(out, value)
    elif not _address(out, value):
        host, colon, port = value.rpartition(":")
        if colon and port.isdigit():  # instance: host:port
            _host(out, host.strip("[]"))
        elif _HOSTNAME.fullmatch(value):
            _add(out, TermClass.HOSTNAME, value)
            return
        # identifiers only: plain words (job="snmp", peer="acme") are in names every view shows
        if _DIGIT.search(value) or any(c in "._-/:" for c in value):
            _add(out, TermClass.LABEL_VALUE, value)


def _ref(out: Terms, ref: ResourceRef | None) -> None:
    if ref is not None:
        _add(out, TermClass.NODE_ID, ref.node)
        _add(out, TermClass.TP_NAME, ref.tp)
        _add(out, TermClass.LINK_ID, ref.link)


def build_vocabulary(
    snapshot: Snapshot,
    *,
    disclosed: DisclosedTerms,
    extra: Iterable[tuple[TermClass, str]] = (),
) -> Vocabulary:
    """Every internal term of ``snapshot`` but those the audience's policy discloses.

    ``extra`` adds terms the snapshot does not hold (the Alertmanager external URL, ...).
    """
    out: Terms = {}
    for node in snapshot.topology.nodes:
        _add(out, TermClass.NODE_ID, node.node_id)
        _add(out, TermClass.NODE_NAME, node.name)
        _add(out, TermClass.SITE, node.site)
        for router_id in node.router_ids:
            _address(out, router_id, loose=True)
        for tp in node.tps:
            _add(out, TermClass.TP_NAME, tp.tp_id)
            _add(out, TermClass.TP_NAME, tp.name)
            for address in tp.addresses:
                _address(out, address, loose=True)
    for link in snapshot.topology.links:
        _add(out, TermClass.LINK_ID, link.link_id)
        # every circuit name: another peer's is as secret to this audience as an internal one
        _add(out, TermClass.LINK_NAME, link.name)
        if link.kind is not LinkKind.INTERNAL:  # the far end: a peer's router, a customer's CPE
            _add(out, TermClass.NODE_ID, link.dest_node)
            _add(out, TermClass.TP_NAME, link.dest_tp)
            if link.remote_node and not _address(out, link.remote_node):
                _add(out, TermClass.NODE_ID, link.remote_node)
            _add(out, TermClass.TP_NAME, link.remote_tp)
    _add(out, TermClass.NETWORK_ID, snapshot.topology.network_id)
    for service in snapshot.services.values():
        # every customer's ids and names: one customer's are another's secrets
        _add(out, TermClass.SERVICE_ID, service.service_id)
        _add(out, TermClass.SERVICE_NAME, service.name)
        for ref in (*service.endpoints, *service.resources):
            _ref(out, ref)
    for alarm in snapshot.alarms.values():
        _add(out, TermClass.ALARM_ID, alarm.alarm_id)
        if alarm.source == "alertmanager":  # its id is am-<fingerprint>: the fingerprint alone too
            _add(out, TermClass.ALARM_ID, alarm.alarm_id.removeprefix("am-"))
        _ref(out, alarm.resource)
        for key, value in alarm.labels:
            _label(out, key, value)
        if alarm.text and alarm.text not in disclosed.texts:
            _text(out, alarm.text)
    for window in snapshot.maintenance.values():
        _add(out, TermClass.MAINTENANCE_ID, window.maintenance_id)
        for ref in window.resources:
            _ref(out, ref)
        if window.description and window.description not in disclosed.texts:
            _text(out, window.description)
    for cls, value in extra:
        if cls is TermClass.ADDRESS:
            _address(out, value, loose=True)
        elif cls is TermClass.URL:
            _url(out, value)
        else:
            _add(out, cls, value)
    shown = "\n".join(v for group in astuple(disclosed) for v in group)
    if shown:
        # what the policy shows on purpose, in any spelling, and every term inside it (a site in
        # a service name, a router in kept text) is no leak to this audience
        inside = Guard(Vocabulary(out), encoded=False).terms_in(shown.encode())
        out = {term: cls for term, cls in out.items() if term not in inside}
    return Vocabulary(out)


def _ipv6_forms(ip: ipaddress.IPv6Address) -> set[str]:
    """Exploded, unpadded, and the mixed forms with the last 32 bits as an IPv4 address."""
    exploded, v4 = ip.exploded, str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    groups = [g.lstrip("0") or "0" for g in exploded.split(":")]
    forms = {exploded, ":".join(groups), exploded[:30] + v4, ":".join(groups[:6]) + ":" + v4}
    # with "1:1" as the last 32 bits, ipaddress compresses the first 96 bits alone
    forms.add(str(ipaddress.IPv6Address(int(ip) >> 32 << 32 | 0x10001))[:-3] + v4)
    if ip.ipv4_mapped is not None:
        forms.add(str(ip.ipv4_mapped))
    return forms


def _spellings(term: str, cls: TermClass) -> dict[str, bool]:
    """Each spelling of a term, and whether to add its encodings: for IPv6, only the usual two."""
    if cls is not TermClass.ADDRESS:
        return {term: True}
    if ":" not in term:  # IPv4 has one spelling (leading zeros are not valid), with or without /len
        return {term: True, term.partition("/")[0]: True}
    ip = _parse_ip(term)
    if not isinstance(ip, ipaddress.IPv6Address):
        return {term: True}
    return {**dict.fromkeys(_ipv6_forms(ip), False), term: True, str(ip): True}


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-")
_JSON_SPECIAL = frozenset('"\\')


def _encodings(form: str) -> set[str]:
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


_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")  # the body is lower-cased first
_WORD_V6 = _WORD | {":"}  # 2001:db8::1 is not a hit inside 2001:db8::1:5
_HEX = frozenset("0123456789abcdef")
_LEFT, _RIGHT, _V6 = 1, 2, 4


def _escape_before(text: str, start: int) -> bool:
    """Whether the letter or digit before ``start`` ends an escape (\\n, \\u00e9, %2F)."""
    p = start - 1
    return (
        text[p - 1 : p] == "\\"
        or (p >= 2 and text[p - 2] == "%" and text[p - 1] in _HEX and text[p] in _HEX)
        or (p >= 5 and text[p - 5 : p - 3] == "\\u" and set(text[p - 3 : p + 1]) <= _HEX)
    )


class Guard:
    """One automaton over every spelling of every term; ``scan`` is one pass over the body."""

    __slots__ = ("_automaton", "_key_meta", "_key_term", "_terms")

    def __init__(self, vocabulary: Vocabulary, *, encoded: bool = True) -> None:
        # a key's value is its number (STORE_INTS: 32 bits), its data in arrays: a guard over
        # 100,000 terms holds some 300,000 keys, and a tuple each would double its size
        self._automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
        self._terms: list[tuple[TermClass, str, str]] = []
        self._key_term = array("l")  # term number
        self._key_meta = array("q")  # key length << 3 | flags
        seen: set[str] = set()
        for term, cls in vocabulary.terms.items():
            self._terms.append((cls, hashlib.sha256(term.encode()).hexdigest()[:12], term))
            v6 = _LEFT | _RIGHT | _V6 if cls is TermClass.ADDRESS and ":" in term else 0
            for form, encode in _spellings(term, cls).items():
                for variant in _encodings(form) if encoded and encode else (form,):
                    # UTF-8 read as latin-1, lower-cased as bytes are: one char per body byte
                    key = variant.encode().lower().decode("latin-1")
                    if len(key) < MIN_LENGTH or key in seen:
                        continue
                    seen.add(key)
                    # an IPv6 key is bounded even at "::": 2001:db8:: is not in 2001:db8::1
                    left, right = key[0] in _WORD, key[-1] in _WORD
                    flags = v6 or (_LEFT if left else 0) | (_RIGHT if right else 0)
                    self._automaton.add_word(key, len(self._key_term))
                    self._key_term.append(len(self._terms) - 1)
                    self._key_meta.append(len(key) << 3 | flags)
        if seen:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        """How many spellings the automaton holds."""
        return len(self._key_term)

    def _matches(self, body: bytes) -> Iterator[tuple[int, int]]:
        """(offset, term index) of every bounded match."""
        if not body or not self._key_term:
            return
        # ASCII-only lower-casing: IPv6 and %2F/%2f, \u00E9/\u00e9 in either case, same offsets
        text = body.lower().decode("latin-1")
        last = len(text) - 1
        for end, key in self._automaton.iter(text):
            meta = self._key_meta[key]
            flags, start = meta & 7, end - (meta >> 3) + 1
            word = _WORD_V6 if flags & _V6 else _WORD
            if flags & _RIGHT and end < last and text[end + 1] in word:
                continue
            left = start > 0 and text[start - 1] in word
            if flags & _LEFT and left and not _escape_before(text, start):
                continue
            yield start, self._key_term[key]

    def scan(self, body: bytes) -> list[Hit]:
        """Every term in ``body`` (as sent), by offset; an empty list when it is clean."""
        hits = [Hit(*self._terms[index][:2], start) for start, index in self._matches(body)]
        hits.sort(key=lambda hit: hit.offset)
        return hits

    def terms_in(self, body: bytes) -> set[str]:
        """The clear terms found in ``body``: for building vocabularies, never for logging."""
        return {self._terms[index][2] for _, index in self._matches(body)}


def vocabulary_revision(snapshot: Snapshot) -> tuple[int, ...]:
    """The revisions a vocabulary depends on; metric samples add no term."""
    kinds = (Kind.TOPOLOGY, Kind.SERVICES, Kind.ALARMS, Kind.MAINTENANCE)
    return tuple(snapshot.kind_revisions.get(kind.value, 0) for kind in kinds)
