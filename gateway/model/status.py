"""Status timelines that staff and sources write: incidents and the updates of planned work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec


class IncidentStatus(StrEnum):
    """Where an incident stands, as a status page says it (Statuspage's four)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


Impact = Literal["outage", "degraded", "none"]


class StatusUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of a timeline: when, the status it sets, and text written for customers."""

    at: datetime
    status: str  # an IncidentStatus, or a MaintenanceStatus for planned work
    text: str | None = None  # free text: published only where a policy keeps written text
    # the source's own id of the update: one sent again with it replaces the earlier one (a
    # corrected time or text); never published
    update_id: str | None = None


class IncidentRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An incident as staff or a source declared it. ``services`` and ``alarms`` say whom it
    concerns: an incident the alarms already tell of (by any of its alarms) is told once, with
    this record's title and timeline."""

    incident_id: str
    title: str | None = None  # free text, like update texts
    services: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    impact: Impact | None = None  # as declared; the alarms it names can make it worse
    updates: tuple[StatusUpdate, ...] = ()  # in time order (merge_updates)

    @property
    def written(self) -> str | None:
        """Every text people wrote for it, as one free text (the leak guard's unit)."""
        return written_text((self.title, *(u.text for u in self.updates)))


def written_text(texts: Iterable[str | None]) -> str | None:
    """Texts joined as the leak guard counts them: one free text per object."""
    return "\n".join(t for t in texts if t) or None


#: at one instant, updates are in the order a status page goes through them
_RANK = {
    s: n
    for n, s in enumerate(
        ("scheduled", "investigating", "identified", "in-progress", "monitoring", "verifying",
         "resolved", "completed", "cancelled")
    )
}  # fmt: skip


def update_key(update: StatusUpdate) -> tuple[datetime, int, str, str]:
    return update.at, _RANK.get(update.status, len(_RANK)), update.status, update.text or ""


def merge_updates(*groups: Iterable[StatusUpdate]) -> tuple[StatusUpdate, ...]:
    """One timeline from several, in time order: an update sent again (the same time, status
    and text: a source repeating itself) is listed once, and one with the ``update_id`` of an
    earlier one replaces it (the later group wins). Otherwise a timeline only grows: nothing a
    customer was told is taken back."""
    seen: dict[tuple[str, ...], StatusUpdate] = {}
    for group in groups:
        for u in group:
            key = ("id", u.update_id) if u.update_id else ("as", *map(str, update_key(u)))
            seen[key] = u
    return tuple(sorted(seen.values(), key=update_key))
