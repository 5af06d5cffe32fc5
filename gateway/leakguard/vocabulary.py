"""The vocabulary: every internal term of the model, as the guard reads it from the data."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import astuple, replace
from urllib.parse import urlsplit

from gateway.leakguard.automaton import Guard
from gateway.leakguard.terms import MIN_LENGTH, DisclosedTerms, TermClass, Vocabulary, parse_ip
from gateway.model import Kind, LinkKind, ResourceRef, Snapshot
from gateway.model.status import written_text

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


def _address(out: Terms, value: str | None, *, loose: bool = False) -> bool:
    """Add ``value`` if it is an address; ``loose`` keeps an unparsable one as written."""
    ip = parse_ip(value or "")
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
        if alarm.source == "alertmanager":  # am-<fingerprint>-<start>: the fingerprint alone too
            _add(out, TermClass.ALARM_ID, alarm.alarm_id.removeprefix("am-"))
            _add(out, TermClass.ALARM_ID, alarm.alarm_id.removeprefix("am-").partition("-")[0])
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
        notes = written_text(u.text for u in window.updates)
        if notes and notes not in disclosed.written:
            _text(out, notes)
    for record in snapshot.incidents.values():
        _add(out, TermClass.INCIDENT_ID, record.incident_id)
        if record.written and record.written not in disclosed.written:
            _text(out, record.written)
    for cls, value in extra:
        if cls is TermClass.ADDRESS:
            _address(out, value, loose=True)
        elif cls is TermClass.URL:
            _url(out, value)
        else:
            _add(out, cls, value)
    # written text is no vouching: what it names stays a term (only its own tokens are not)
    shown = "\n".join(
        v for group in astuple(replace(disclosed, written=frozenset())) for v in group
    )
    if shown:
        # what the policy shows on purpose, in any spelling, and every term inside it (a site in
        # a service name, a router in kept text) is no leak to this audience
        inside = Guard(Vocabulary(out), encoded=False).terms_in(shown.encode())
        out = {term: cls for term, cls in out.items() if term not in inside}
    return Vocabulary(out)


def vocabulary_revision(snapshot: Snapshot) -> tuple[int, ...]:
    """The revisions a vocabulary depends on; metric samples add no term."""
    kinds = (Kind.TOPOLOGY, Kind.SERVICES, Kind.ALARMS, Kind.MAINTENANCE, Kind.INCIDENTS)
    return tuple(snapshot.kind_revisions.get(kind.value, 0) for kind in kinds)
