"""The terms each model object contributes, and which objects a committed change touches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gateway.leakguard.terms import TermClass
from gateway.leakguard.vocabulary import Terms, _add, _address, _label, _ref, _text, _url
from gateway.model import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    IncidentRecord,
    LinkKind,
    Maintenance,
    PruneAlarms,
    ReplaceTopology,
    Service,
    Snapshot,
    Topology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.status import written_text

Pair = tuple[str, TermClass]
# ("topology", ""), ("service", id), ("alarm", id), ("maintenance", id), ("extra", ""),
# ("incident", id), ("maintenance-notes", id): what people wrote on a window's timeline
ObjectKey = tuple[str, str]
TOPOLOGY: ObjectKey = ("topology", "")
EXTRA: ObjectKey = ("extra", "")


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one object adds: its fixed terms, and its free text (tokenised once per distinct
    text, kept apart because an audience that keeps that text as written must not be flagged
    for the tokens inside it)."""

    pairs: frozenset[Pair]
    text: str | None = None


def _pairs(out: Terms) -> frozenset[Pair]:
    return frozenset(out.items())


def topology_terms(topology: Topology) -> Contribution:
    """The whole topology is one object: it is only ever replaced as a whole."""
    out: Terms = {}
    for node in topology.nodes:
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
    for link in topology.links:
        _add(out, TermClass.LINK_ID, link.link_id)
        _add(out, TermClass.LINK_NAME, link.name)
        if link.kind is not LinkKind.INTERNAL:
            _add(out, TermClass.NODE_ID, link.dest_node)
            _add(out, TermClass.TP_NAME, link.dest_tp)
            if link.remote_node and not _address(out, link.remote_node):
                _add(out, TermClass.NODE_ID, link.remote_node)
            _add(out, TermClass.TP_NAME, link.remote_tp)
    _add(out, TermClass.NETWORK_ID, topology.network_id)
    return Contribution(_pairs(out))


def service_terms(service: Service) -> Contribution:
    out: Terms = {}
    _add(out, TermClass.SERVICE_ID, service.service_id)
    _add(out, TermClass.SERVICE_NAME, service.name)
    for ref in (*service.endpoints, *service.resources):
        _ref(out, ref)
    return Contribution(_pairs(out))


def alarm_terms(alarm: Alarm) -> Contribution:
    out: Terms = {}
    _add(out, TermClass.ALARM_ID, alarm.alarm_id)
    if alarm.source == "alertmanager":  # am-<fingerprint>-<start>: the fingerprint alone too
        _add(out, TermClass.ALARM_ID, alarm.alarm_id.removeprefix("am-"))
        _add(out, TermClass.ALARM_ID, alarm.alarm_id.removeprefix("am-").partition("-")[0])
    _ref(out, alarm.resource)
    for key, value in alarm.labels:
        _label(out, key, value)
    return Contribution(_pairs(out), alarm.text or None)


def maintenance_terms(window: Maintenance) -> Contribution:
    out: Terms = {}
    _add(out, TermClass.MAINTENANCE_ID, window.maintenance_id)
    for ref in window.resources:
        _ref(out, ref)
    return Contribution(_pairs(out), window.description or None)


def incident_terms(record: IncidentRecord) -> Contribution:
    out: Terms = {}
    _add(out, TermClass.INCIDENT_ID, record.incident_id)
    return Contribution(_pairs(out), record.written)


def notes_terms(window: Maintenance) -> Contribution | None:
    """The text written on a window's timeline: an object of its own, as the description is
    the window's one free text (and a policy keeps or drops the two apart)."""
    text = written_text(u.text for u in window.updates)
    return Contribution(frozenset(), text) if text is not None else None


def extra_terms(extra: Iterable[tuple[TermClass, str]]) -> Contribution:
    """Terms the snapshot does not hold (the Alertmanager external URL, ...)."""
    out: Terms = {}
    for cls, value in extra:
        if cls is TermClass.ADDRESS:
            _address(out, value, loose=True)
        elif cls is TermClass.URL:
            _url(out, value)
        else:
            _add(out, cls, value)
    return Contribution(_pairs(out))


def text_terms(text: str) -> frozenset[Pair]:
    """The distinctive tokens of one free text."""
    out: Terms = {}
    _text(out, text)
    return _pairs(out)


def object_terms(snapshot: Snapshot, key: ObjectKey) -> Contribution | None:
    """What the object named ``key`` contributes in ``snapshot``; None when it is not there."""
    kind, ident = key
    if kind == "topology":
        return topology_terms(snapshot.topology)
    if kind == "service":
        service = snapshot.services.get(ident)
        return service_terms(service) if service is not None else None
    if kind == "alarm":
        alarm = snapshot.alarms.get(ident)
        return alarm_terms(alarm) if alarm is not None else None
    if kind == "maintenance":
        window = snapshot.maintenance.get(ident)
        return maintenance_terms(window) if window is not None else None
    if kind == "maintenance-notes":
        window = snapshot.maintenance.get(ident)
        return notes_terms(window) if window is not None else None
    if kind == "incident":
        record = snapshot.incidents.get(ident)
        return incident_terms(record) if record is not None else None
    raise ValueError(f"unknown object kind {kind!r} in a vocabulary key")


def snapshot_keys(snapshot: Snapshot) -> Iterator[ObjectKey]:
    """Every object of ``snapshot`` that contributes terms."""
    yield TOPOLOGY
    yield from (("service", k) for k in snapshot.services)
    yield from (("alarm", k) for k in snapshot.alarms)
    yield from (("maintenance", k) for k in snapshot.maintenance)
    yield from (("maintenance-notes", k) for k, w in snapshot.maintenance.items() if w.updates)
    yield from (("incident", k) for k in snapshot.incidents)


class UnknownChange(Exception):
    """A change type the vocabulary does not know how to follow: rebuild from the snapshot."""


def touched(change: Change) -> Iterator[ObjectKey]:
    """The objects ``change`` may have added, altered or removed. Any type not listed here
    raises, so that a new kind of change (a deletion, a pruning) is never silently ignored."""
    match change:
        case ReplaceTopology():
            yield TOPOLOGY
        case UpsertServices(services=services):
            yield from (("service", s.service_id) for s in services)
        case DeleteServices(service_ids=ids):
            yield from (("service", i) for i in ids)
        case UpsertAlarms(alarms=alarms):
            yield from (("alarm", a.alarm_id) for a in alarms)
        case PruneAlarms(alarm_ids=ids):  # retention: those still in the snapshot stay
            yield from (("alarm", i) for i in ids)
        case UpsertMaintenance(windows=windows):
            yield from (("maintenance", w.maintenance_id) for w in windows)
            yield from (("maintenance-notes", w.maintenance_id) for w in windows)
        case AddMaintenanceUpdates(updates=updates):
            yield from (("maintenance-notes", m) for m, _ in updates)
        case UpsertIncidents(incidents=patches):
            yield from (("incident", p.incident_id) for p in patches)
        case AddMetricSamples():
            return  # samples add no term
        case _:
            raise UnknownChange(type(change).__name__)
