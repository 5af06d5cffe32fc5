"""A deterministic, realistic demo network and its management data, for demos and tests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.demo._events import EXTERNAL_URL, Situation, alertmanager_payload, build_events
from gateway.demo._plan import PEERINGS, SITES, Json, Plan, build_plan, render_topology
from gateway.demo._services import CUSTOMERS, Service, build_services

__all__ = ["PROBABLE_CAUSES", "DemoData", "Secrets", "Situation", "build_demo", "write_demo"]

FILES = (
    "topology", "services", "alarms", "alertmanager", "metrics", "maintenance", "incidents",
)  # fmt: skip

# the demo operator's alert names, mapped to X.733 probable causes as an operator would
# (settings: alert_labels.probable_causes); unmapped names would be published as "unknown"
PROBABLE_CAUSES = {
    "InterfaceDown": "lossOfSignal",
    "HighInterfaceErrors": "excessiveErrorRate",
    "BGPSessionDown": "routingFailure",
}


@dataclass(frozen=True)
class Secrets:
    """Every internal string of the demo data that must never reach a peer or a customer.

    The peer's own end of an interconnect (its router, port and router-id) and the agreed
    circuit ids are not here: they are the peer's, or shared with it.
    """

    node_ids: frozenset[str]
    node_names: frozenset[str]
    tp_names: frozenset[str]
    link_ids: frozenset[str]
    addresses: frozenset[str]
    sites: frozenset[str]  # site names and site codes
    urls: frozenset[str]
    texts: frozenset[str]

    def all(self) -> frozenset[str]:
        return (
            self.node_ids
            | self.node_names
            | self.tp_names
            | self.link_ids
            | self.addresses
            | self.sites
            | self.urls
            | self.texts
        )


@dataclass(frozen=True)
class DemoData:
    topology: Json  # RFC 8345 ietf-network:networks
    services: Json  # {"services": [...]}
    alarms: Json  # {"alarms": [...]}, native
    alertmanager: Json  # an Alertmanager version 4 webhook payload
    metrics: Json  # {"samples": [...]}
    maintenance: Json  # {"maintenance": [...]}
    incidents: Json  # {"incidents": [...]}: declared, with their timelines
    peers: tuple[str, ...]
    customers: tuple[str, ...]
    secrets: Secrets
    situation: Situation  # which services and peers the events are meant to affect

    def documents(self) -> dict[str, Json]:
        return {name: getattr(self, name) for name in FILES}


def _secrets(
    plan: Plan,
    alarms: list[Json],
    alertmanager: Json,
    windows: list[Json],
    label_addresses: list[str],
) -> Secrets:
    alerts: list[Json] = alertmanager["alerts"]
    return Secrets(
        node_ids=frozenset(r.node_id for r in plan.routers),
        node_names=frozenset(r.name for r in plan.routers),
        tp_names=frozenset(tp.tp_id for r in plan.routers for tp in r.tps),
        link_ids=frozenset(link.link_id for link in plan.links),
        addresses=frozenset(
            [r.router_id for r in plan.routers]
            + [a for r in plan.routers for tp in r.tps for a in tp.addresses]
            + label_addresses
        ),
        sites=frozenset([s.name for s in SITES] + [s.code for s in SITES]),
        urls=frozenset([EXTERNAL_URL] + [a["generatorURL"] for a in alerts]),
        texts=frozenset(
            [a["text"] for a in alarms]
            + [v for a in alerts for v in a["annotations"].values()]
            + [w["description"] for w in windows]
        ),
    )


def build_demo(now: datetime, seed: int = 7) -> DemoData:
    """The demo network and its data; the same `now` and `seed` give the same data."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    plan = build_plan(random.Random(seed))
    services: list[Service] = build_services(plan)
    events, situation = build_events(plan, services, now)
    alertmanager = alertmanager_payload(events)
    return DemoData(
        topology=render_topology(plan),
        services={"services": [svc.doc for svc in services]},
        alarms={"alarms": events.alarms},
        alertmanager=alertmanager,
        metrics={"samples": events.samples},
        maintenance={"maintenance": events.windows},
        incidents={"incidents": list(situation.incidents)},
        peers=tuple(PEERINGS),
        customers=tuple(name for name, _ in CUSTOMERS),
        secrets=_secrets(plan, events.alarms, alertmanager, events.windows, events.label_addresses),
        situation=situation,
    )


def write_demo(directory: Path, now: datetime, seed: int = 7) -> dict[str, Path]:
    """Write each document of the demo data as `<name>.json` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, doc in build_demo(now, seed).documents().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths[name] = path
    return paths
