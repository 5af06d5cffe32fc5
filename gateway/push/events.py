"""Change events in the style of TMF688, from the difference between two publications of a view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

# the list views whose items the feed follows → (the resource's name in an event, its type
# prefix, the field whose change is a state change); documents (topology, summary) and the
# daily history are not followed: their every change is the whole document
FOLLOWED: dict[str, tuple[str, str, str]] = {
    "interconnects": ("interconnect", "Interconnect", "status"),
    "alarms": ("alarm", "Alarm", "state"),
    "maintenance": ("maintenance", "Maintenance", "status"),
    "services": ("service", "Service", "status"),
    "incidents": ("incident", "Incident", "state"),
}

CREATE, STATE, ATTRIBUTES, DELETE = "Create", "StateChange", "AttributeValueChange", "Delete"

_encode = msgspec.json.Encoder().encode
_fields = msgspec.json.Decoder(dict[str, object]).decode


@dataclass(frozen=True, slots=True)
class Change:
    """One item of a view that appeared, changed or went, with its bytes as published (for a
    deletion: as last published)."""

    view: str
    kind: str  # CREATE, STATE, ATTRIBUTES or DELETE
    ident: str
    item: bytes


def event_type(change: Change) -> str:
    """``AlarmCreateEvent``, ``AlarmStateChangeEvent``, ``ServiceStatusChangeEvent`` …"""
    _, prefix, field = FOLLOWED[change.view]
    kind = change.kind
    if kind == STATE and field == "status":
        kind = "StatusChange"
    return f"{prefix}{kind}Event"


def diff(view: str, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """What changed in ``view`` between two sets of items (published id → bytes): creations and
    changes in id order, then deletions in id order."""
    field = FOLLOWED[view][2]
    out: list[Change] = []
    for ident in sorted(new):
        before, after = old.get(ident), new[ident]
        if before is None:
            out.append(Change(view, CREATE, ident, after))
        elif before != after:
            state = _fields(before).get(field) != _fields(after).get(field)
            out.append(Change(view, STATE if state else ATTRIBUTES, ident, after))
    out.extend(Change(view, DELETE, ident, old[ident]) for ident in sorted(set(old) - set(new)))
    return out


def envelope(
    change: Change, seq: int, at: str, revision: int, policy_version: str
) -> tuple[str, bytes]:
    """(event type, the event's JSON): the item spliced in as published, never re-encoded."""
    kind = event_type(change)
    head = _encode(
        {
            "eventId": str(seq),
            "eventTime": at,
            "eventType": kind,
            "view": change.view,
            "revision": revision,
            "policyVersion": policy_version,
        }
    )
    resource = FOLLOWED[change.view][0].encode()
    return kind, head[:-1] + b',"event":{"' + resource + b'":' + change.item + b"}}"
