"""What the demo operator tells its customers: incidents with timelines, how planned work goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from gateway.demo._plan import Json
from gateway.demo._services import Service


class Events(Protocol):
    """What this reads of ``_events.Events`` (which calls it: no import back)."""

    now: datetime
    alarms: list[Json]
    windows: list[Json]
    named: dict[str, str]

    def window(
        self, resources: list[Json], start: datetime, hours: int, status: str, text: str
    ) -> None: ...


def _at(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _update(at: datetime, status: str, text: str) -> Json:
    return {"at": _at(at), "status": status, "text": text}


def _numbered(updates: list[Json], prefix: str) -> list[Json]:
    """Updates with ids of their own: a demo fed again (a new ``now``) replaces them."""
    return [{"id": f"{prefix}/{n}", **u} for n, u in enumerate(updates, start=1)]


def tell_customers(
    ev: Events, services: list[Service], outage: str, degraded: str
) -> tuple[Json, ...]:
    """Incidents as a NOC declares them (through the ingest API, as a ticketing system would)
    and updates of planned work: the text is for customers, naming no router, port or site."""
    alarms = {a["id"]: a for a in ev.alarms}
    now, year = ev.now, ev.now.year
    cut = alarms[ev.named["outage"]]
    cut_at = _parse(cut["raised_at"])
    power = alarms[ev.named["power"]]
    power_at, power_end = _parse(power["raised_at"]), _parse(power["cleared_at"])
    crc_at = _parse(alarms[ev.named["degraded"]]["raised_at"])
    troubled = {s.customer for s in services if s.service_id in (outage, degraded)}
    calm = next(s for s in services if s.customer not in troubled)
    incidents: list[Json] = [
        {
            "id": f"INC-{year}-0101",
            "title": "Internet access down at one of your sites",
            "alarms": [ev.named["outage"]],
            "impact": "outage",
            "updates": [
                _update(cut_at + timedelta(minutes=4), "investigating",
                        "We are investigating a loss of connectivity on this service."),
                _update(cut_at + timedelta(minutes=21), "identified",
                        "The fault is on the access line to your site; an engineer is on the "
                        "way. Next update within the hour."),
            ],
        },
        {
            "id": f"INC-{year}-0098",
            "title": "Reduced redundancy on private network services",
            "alarms": [ev.named["power"]],
            "impact": "degraded",
            "updates": [
                _update(power_at + timedelta(minutes=12), "identified",
                        "A power fault in one of our core locations took away the second path; "
                        "traffic flows on the first one."),
                _update(power_end + timedelta(minutes=2), "monitoring",
                        "Power is back and both paths carry traffic again; we are monitoring."),
                _update(power_end + timedelta(minutes=35), "resolved",
                        "Stable for half an hour: resolved."),
            ],
        },
        {
            "id": f"INC-{year}-0102",
            "title": "Intermittent packet loss",
            "services": [degraded],
            "alarms": [ev.named["degraded"]],
            "updates": [
                _update(crc_at + timedelta(minutes=30), "identified",
                        "Errors on the access line to your site: we will clean the connectors "
                        "at a visit today; the service stays up meanwhile."),
            ],
        },
        {
            "id": f"INC-{year}-0103",
            "title": "Slow name resolution",
            "services": [calm.service_id],
            "impact": "degraded",
            "updates": [
                _update(now - timedelta(minutes=50), "investigating",
                        "Some customers see slow DNS answers from our resolvers."),
                _update(now - timedelta(minutes=10), "monitoring",
                        "A fix is in place and answers are fast again; we are monitoring."),
            ],
        },
    ]  # fmt: skip
    for incident in incidents:
        incident["updates"] = _numbered(incident["updates"], incident["id"])
    _planned_work(ev, calm)
    return tuple(incidents)


def _planned_work(ev: Events, calm: Service) -> None:
    """The upgrade under way is being verified; one window finished yesterday, ahead of time;
    one next week is called off."""
    upgrade = ev.windows[int(ev.named["upgrade"])]
    start = _parse(upgrade["start"])
    del upgrade["status"]  # it follows the updates
    upgrade["updates"] = _numbered([
        _update(start + timedelta(minutes=2), "in-progress",
                "Work has started: expect interruptions of a few seconds."),
        _update(ev.now - timedelta(minutes=5), "verifying",
                "The upgrade is done; we are checking that traffic flows as before."),
    ], upgrade["id"])  # fmt: skip
    pe, tp = calm.access[0]
    done = (ev.now - timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    ev.window([{"node": pe.node_id, "tp": tp.tp_id}], done, 2, "completed",
              f"Replace optic on {pe.name} {tp.tp_id}")  # fmt: skip
    ev.windows[-1]["updates"] = _numbered(
        [_update(done + timedelta(minutes=85), "completed", "Work completed ahead of time.")],
        ev.windows[-1]["id"],
    )
    later = (ev.now + timedelta(days=6)).replace(hour=1, minute=0, second=0, microsecond=0)
    ev.window([{"node": pe.node_id}], later, 3, "cancelled",
              f"Line card swap on {pe.node_id}, postponed: spares late")  # fmt: skip
    ev.windows[-1]["updates"] = _numbered([
        _update(ev.now - timedelta(hours=2), "cancelled",
                "Postponed: we will announce a new date."),
    ], ev.windows[-1]["id"])  # fmt: skip
