"""What happens on the demo network: alarms, Alertmanager alerts, metric samples, maintenance."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from gateway.demo._plan import SITE_SPANS, Json, Plan, Router
from gateway.demo._services import Service
from gateway.demo._status import tell_customers

EXTERNAL_URL = "http://alertmanager.noc.example.net:9093"
PROMETHEUS = "http://prometheus-{n}.noc.example.net:9090/graph?g0.expr={expr}&g0.tab=1"


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Situation:
    """Which services and peers the generated events are meant to affect."""

    outage: str
    degraded: str
    maintenance: str
    acme_alarms: tuple[str, ...]
    globalnet_alert: str  # fingerprint
    incidents: tuple[Json, ...] = ()  # declared, with their timelines (demo._status)


@dataclass
class Events:
    now: datetime
    rng: random.Random
    alarms: list[Json] = field(default_factory=list)
    alerts: list[Json] = field(default_factory=list)
    windows: list[Json] = field(default_factory=list)
    samples: list[Json] = field(default_factory=list)
    label_addresses: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # events the status updates are about

    def alarm(
        self,
        resource: Json,
        severity: str,
        age: timedelta,
        cause: str,
        problem: str,
        text: str,
        cleared_after: timedelta | None = None,
    ) -> str:
        number = 100000 + len(self.alarms) * 37 + self.rng.randint(1, 30)
        raised = self.now - age - timedelta(seconds=self.rng.randint(0, 59))
        cleared = rfc3339(raised + cleared_after) if cleared_after is not None else None
        alarm_id = f"NMS-{number:06d}"
        self.alarms.append(
            {
                "id": alarm_id,
                "resource": resource,
                "severity": severity,
                "raised_at": rfc3339(raised),
                "cleared_at": cleared,
                "probable_cause": cause,
                "specific_problem": problem,
                "text": text,
            }
        )
        return alarm_id

    def alert(self, labels: dict[str, str], summary: str, description: str, expr: str) -> str:
        started = self.now - timedelta(minutes=self.rng.randint(3, 90))
        fingerprint = f"{self.rng.getrandbits(64):016x}"
        url = PROMETHEUS.format(n=self.rng.randint(1, 2), expr=quote(expr, safe=""))
        self.alerts.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": summary, "description": description},
                "startsAt": started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": url,
                "fingerprint": fingerprint,
            }
        )
        self.label_addresses += [v.rsplit(":", 1)[0] for k, v in labels.items() if k == "instance"]
        self.label_addresses += [v for k, v in labels.items() if k == "neighbor"]
        return fingerprint

    def window(
        self,
        resources: list[Json],
        start: datetime,
        hours: int,
        status: str,
        text: str,
    ) -> None:
        change = f"CHG-{self.now.year}-{412 + 17 * len(self.windows):04d}"
        self.windows.append(
            {
                "id": change,
                "resources": resources,
                "start": rfc3339(start),
                "end": rfc3339(start + timedelta(hours=hours)),
                "status": status,
                "description": text,
            }
        )


def _tp_ref(router: Router, tp_id: str) -> Json:
    return {"node": router.node_id, "tp": tp_id}


def _quiet_pe(services: list[Service], busy: set[str]) -> tuple[Service, Router]:
    """A service, and one of its PEs, that share no PE with the services in trouble."""
    for svc in services:
        names = {pe.name for pe in svc.pes}
        if not names & busy:
            return svc, svc.pes[0]
    raise ValueError("every service shares a PE with a service in trouble")  # pragma: no cover


def _service_alarms(ev: Events, plan: Plan, services: list[Service]) -> tuple[str, str, str]:
    outage = services[0]
    pe, tp = outage.access[0]
    addr = tp.addresses[0] if tp.addresses else pe.router_id
    ev.named["outage"] = ev.alarm(
        _tp_ref(pe, tp.tp_id),
        "critical",
        timedelta(minutes=47),
        "lossOfSignal",
        "Loss of signal",
        f"LOS on {pe.name} {tp.tp_id} ({addr}), {outage.name}: no light from the customer "
        f"side, CPE unreachable. Remote hands requested at {pe.site.name}, "
        f"escalated to L2.",
    )
    degraded = next(s for s in services if s.customer != outage.customer)
    dpe, dtp = degraded.access[-1]
    ev.named["degraded"] = ev.alarm(
        _tp_ref(dpe, dtp.tp_id),
        "major",
        timedelta(hours=2, minutes=12),
        "degradedSignal",
        "Input CRC errors above threshold",
        f"CRC errors 2.3e-5 on {dpe.node_id} {dtp.tp_id} towards {degraded.customer} "
        f"({degraded.service_id}), rising since 06:40Z. Suspect dirty patch at "
        f"{dpe.site.name}; {dpe.name} (lo0 {dpe.router_id}) uplinks clean.",
    )
    busy = {r.name for r in outage.pes + degraded.pes}
    troubled = (outage.customer, degraded.customer)
    candidates = [s for s in services if s.customer not in troubled] + [
        s for s in services if s.customer in troubled and s not in (outage, degraded)
    ]
    quiet, qpe = _quiet_pe(candidates, busy)
    p1 = plan.at(qpe.site.code, "p")[0]
    ev.named["upgrade"] = f"{len(ev.windows)}"
    ev.window(
        [{"node": qpe.node_id}],
        ev.now - timedelta(minutes=45),
        3,
        "in-progress",
        f"Junos upgrade 22.4R3-S2 -> 23.4R2-S1 on {qpe.node_id} ({qpe.router_id}). "
        f"Traffic drained to {p1.name}; customer ports on {qpe.name} flap during the "
        f"reload. Rollback: request system software rollback.",
    )
    return outage.service_id, degraded.service_id, quiet.service_id


def _network_alarms(ev: Events, plan: Plan) -> tuple[str, ...]:
    acme = plan.interconnects("acme")
    first, second, third = acme[0], acme[1], acme[2]
    cleared = ev.alarm(
        {"link": first.link_id},
        "critical",
        timedelta(days=2, hours=3),
        "lossOfSignal",
        "Loss of signal",
        f"LOS on {first.src.name} {first.src_tp.tp_id} ({first.circuit}): acme "
        f"found a broken patch at {first.src.site.name}; restored, "
        f"BGP on {first.src_tp.addresses[0]} back up.",
        cleared_after=timedelta(minutes=38),
    )
    active = ev.alarm(
        {"link": second.link_id},
        "major",
        timedelta(minutes=95),
        "degradedSignal",
        "Pre-FEC BER above threshold",
        f"Pre-FEC BER 3.1e-6 on {second.src.node_id} {second.src_tp.tp_id} "
        f"({second.circuit}); post-FEC clean. Case opened with acme NOC, "
        f"ASBR loopback {second.src.router_id}.",
    )
    asbr = plan.at(third.src.site.code, "asbr")[0]
    p = plan.at(asbr.site.code, "p")[0]
    uplink = plan.between[(asbr.name, p.name)]
    ev.alarm(
        {"link": uplink.link_id},
        "minor",
        timedelta(hours=5),
        "thresholdCrossed",
        "Optical receive power low",
        f"Rx power -13.9 dBm on {asbr.name} {uplink.src_tp.tp_id} lane 2 from {p.name}; "
        f"threshold -12.0 dBm. Clean optics at next visit.",
    )
    rr = next(r for r in plan.routers if r.role == "rr")
    client = plan.rng.choice([r for r in plan.routers if r.role == "pe"])
    ev.alarm(
        {"node": rr.node_id},
        "warning",
        timedelta(minutes=20),
        "communicationProtocolError",
        "BGP session flapping",
        f"{rr.name} ({rr.router_id}) iBGP to {client.name} ({client.router_id}) flapped "
        f"4 times in 10 min, hold timer expired.",
    )
    psu = plan.rng.choice([r for r in plan.routers if r.role == "p"])
    ev.named["power"] = ev.alarm(
        {"node": psu.node_id},
        "major",
        timedelta(days=1, hours=7),
        "powerProblem",
        "Power supply input lost",
        f"PSU 1 input lost on {psu.node_id} at {psu.site.name}; facilities restored feed B.",
        cleared_after=timedelta(minutes=64),
    )
    start = (ev.now + timedelta(days=3)).replace(hour=22, minute=0, second=0, microsecond=0)
    other = next(link.src for link in acme if link.src is not third.src)
    ev.window(
        [{"link": third.link_id}, _tp_ref(third.src, third.src_tp.tp_id)],
        start,
        4,
        "scheduled",
        f"Replace 100G-LR4 optic on {third.src.name} {third.src_tp.tp_id} "
        f"({third.circuit}) after rising FEC errors; acme traffic shifts to "
        f"{other.name}.",
    )
    return cleared, active


def _fibre_works(ev: Events, plan: Plan) -> None:
    a, b = plan.rng.choice(SITE_SPANS)
    ra, rb = plan.router(f"p1.{a}"), plan.router(f"p1.{b}")
    links = [plan.between[(ra.name, rb.name)], plan.between[(rb.name, ra.name)]]
    start = (ev.now + timedelta(days=9)).replace(hour=23, minute=0, second=0, microsecond=0)
    ev.window(
        [{"link": link.link_id} for link in links],
        start,
        5,
        "scheduled",
        f"Carrier fibre works on the {ra.site.name} - {rb.site.name} span: "
        f"{ra.name} {links[0].src_tp.tp_id} ({links[0].src_tp.addresses[0]}) <> {rb.name} "
        f"{links[1].src_tp.tp_id} down, traffic moves to the p2 plane.",
    )


def _alerts(ev: Events, plan: Plan) -> str:
    ic = plan.interconnects("globalnet")[0]
    asbr, tp = ic.src, ic.src_tp
    fingerprint = ev.alert(
        {
            "alertname": "InterfaceDown",
            "severity": "critical",
            "node": asbr.node_id,
            "interface": tp.tp_id,
            "instance": f"{asbr.router_id}:9116",
            "job": "snmp",
        },
        f"{tp.tp_id} on {asbr.name} is down",
        f"ifOperStatus went down on {asbr.node_id} {tp.tp_id} ({tp.addresses[0]}) towards "
        f"globalnet {ic.circuit}",
        f'ifOperStatus{{node="{asbr.node_id}",ifName="{tp.tp_id}"}} == 2',
    )
    core = next(
        link
        for link in plan.links
        if link.src.role == "p"
        and link.dst is not None
        and link.dst.role == "p"
        and link.src.site is not link.dst.site
    )
    ev.alert(
        {
            "alertname": "HighInterfaceErrors",
            "severity": "warning",
            "node": core.src.node_id,
            "interface": core.src_tp.tp_id,
            "instance": f"{core.src.router_id}:9116",
            "job": "snmp",
        },
        f"Input errors on {core.src.name} {core.src_tp.tp_id}",
        f"{core.src.name} {core.src_tp.tp_id} ({core.src_tp.addresses[0]}) sees 42 input "
        f"errors/s from {core.dst.name if core.dst else '?'}",
        f'rate(ifInErrors{{node="{core.src.node_id}"}}[5m]) > 10',
    )
    rr = [r for r in plan.routers if r.role == "rr"][-1]
    client = plan.rng.choice([r for r in plan.routers if r.role == "asbr"])
    ev.alert(
        {
            "alertname": "BGPSessionDown",
            "severity": "major",
            "node": rr.node_id,
            "neighbor": client.router_id,
            "instance": f"{rr.router_id}:9326",
            "job": "junos",
        },
        f"iBGP session {rr.name} -> {client.name} down",
        f"BGP state Active on {rr.node_id} for neighbor {client.router_id} ({client.name})",
        f'junos_bgp_session_state{{neighbor="{client.router_id}"}} != 6',
    )
    return fingerprint


def alertmanager_payload(ev: Events) -> Json:
    common = dict(ev.alerts[0]["labels"])
    for alert in ev.alerts[1:]:
        common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
    return {
        "version": "4",
        "groupKey": '{}/{job=~"snmp|junos"}:{}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "demarc",
        "groupLabels": {},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": EXTERNAL_URL,
        "alerts": ev.alerts,
    }


def _sample_values(rng: random.Random, base: float, delay_us: int, state: str) -> dict[str, float]:
    """One sample of each metric of a link that is "ok", "errored" or "down"."""
    if state == "down":
        return {
            "utilisation_pct": 0.0,
            "delay_ms": delay_us / 1000,
            "loss_pct": 100.0,
            "errors_per_s": 0.0,
        }
    errored = state == "errored"
    return {
        "utilisation_pct": base + rng.uniform(-4.0, 4.0),
        "delay_ms": delay_us / 1000 + rng.uniform(0.0, 0.08),
        "loss_pct": rng.uniform(0.2, 0.9) if errored else rng.choice((0.0, 0.0, 0.001)),
        "errors_per_s": rng.uniform(80.0, 160.0) if errored else rng.choice((0.0, 0.0, 0.2)),
    }


def metric_samples(plan: Plan, now: datetime, errored: str, down: str) -> list[Json]:
    """Three samples, five minutes apart, per interconnect and per sampled core link."""
    rng = plan.rng
    core = [link for link in plan.links if link.peer is None]
    picked = {link.link_id for link in rng.sample(core, 16)}
    chosen = [link for link in core if link.link_id in picked]
    samples: list[Json] = []
    for link in [*(link for link in plan.links if link.peer is not None), *chosen]:
        base = rng.uniform(12.0, 72.0)
        for step in (2, 1, 0):
            state = "errored" if link.link_id == errored else "ok"
            if link.link_id == down and step == 0:
                state = "down"
            at = rfc3339(now - timedelta(minutes=5 * step))
            values = _sample_values(rng, base, link.delay_us, state)
            samples += [
                {"resource": {"link": link.link_id}, "metric": m, "value": round(v, 3), "at": at}
                for m, v in values.items()
            ]
    return samples


def build_events(plan: Plan, services: list[Service], now: datetime) -> tuple[Events, Situation]:
    ev = Events(now, plan.rng)
    outage, degraded, quiet = _service_alarms(ev, plan, services)
    acme = _network_alarms(ev, plan)
    _fibre_works(ev, plan)
    fingerprint = _alerts(ev, plan)
    errored, down = plan.interconnects("acme")[1], plan.interconnects("globalnet")[0]
    ev.samples = metric_samples(plan, now, errored.link_id, down.link_id)
    _history(ev, services, random.Random(7))
    told = tell_customers(ev, services, outage, degraded)
    return ev, Situation(outage, degraded, quiet, acme, fingerprint, told)


HISTORY_DAYS = range(8, 90)  # older than any incident history: only the availability shows it


def _history(ev: Events, services: list[Service], rng: random.Random) -> None:
    """Three months of the past: port flaps, losses of signal and planned work on each
    service's access ports, ended long ago (as an NMS that replays its log would send them)."""
    for svc in services:
        for _ in range(rng.randint(1, 5)):
            pe, tp = rng.choice(svc.access)
            age = timedelta(days=rng.choice(HISTORY_DAYS), minutes=rng.randint(0, 1439))
            critical = rng.random() < 0.4
            ev.alarm(
                _tp_ref(pe, tp.tp_id),
                "critical" if critical else "major",
                age,
                "lossOfSignal" if critical else "thresholdCrossed",
                "LOS" if critical else "CRC errors",
                f"{pe.name} {tp.tp_id}: {'LOS' if critical else 'CRC errors rising'}",
                cleared_after=timedelta(minutes=rng.randint(4, 180 if critical else 600)),
            )
        if rng.random() < 0.5:
            pe, tp = rng.choice(svc.access)
            start = ev.now - timedelta(days=rng.choice(HISTORY_DAYS))
            start = start.replace(hour=1, minute=0, second=0, microsecond=0)
            ev.window(
                [_tp_ref(pe, tp.tp_id)], start, 2, "completed", f"Line card swap on {pe.name}"
            )
