"""The disclosure engine: internal snapshot + compiled policy → the items of each view. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.disclosure.customer import compile_customer
from gateway.disclosure.loader import LoadedPolicy
from gateway.disclosure.peer import compile_peer
from gateway.disclosure.policy import CustomerPolicy, PeerPolicy
from gateway.disclosure.project import Context, Settled, ViewData
from gateway.disclosure.pseudonym import Pseudonymizer
from gateway.model import Kind, Snapshot

ViewFn = Callable[[Context, str], ViewData]

#: what each view reads; a change to any other kind leaves the view as it is
DEPENDS: Mapping[str, Mapping[str, frozenset[Kind]]] = {
    "peer": {
        "interconnects": frozenset({Kind.TOPOLOGY, Kind.METRICS, Kind.ALARMS, Kind.MAINTENANCE}),
        "alarms": frozenset({Kind.TOPOLOGY, Kind.ALARMS}),
        "maintenance": frozenset({Kind.TOPOLOGY, Kind.MAINTENANCE}),
        # alarms: a critical one takes a link out; metrics: utilisation and measured delay;
        # maintenance: an interconnect's status, as in the interconnects view
        "topology": frozenset({Kind.TOPOLOGY, Kind.METRICS, Kind.ALARMS, Kind.MAINTENANCE}),
        "topology-rfc8345": frozenset({Kind.TOPOLOGY, Kind.METRICS, Kind.ALARMS, Kind.MAINTENANCE}),
    },
    "customer": {
        "services": frozenset({Kind.SERVICES, Kind.TOPOLOGY, Kind.ALARMS, Kind.MAINTENANCE}),
        "incidents": frozenset({Kind.SERVICES, Kind.TOPOLOGY, Kind.ALARMS, Kind.INCIDENTS}),
        "maintenance": frozenset({Kind.SERVICES, Kind.TOPOLOGY, Kind.MAINTENANCE}),
        "summary": frozenset(
            {Kind.SERVICES, Kind.TOPOLOGY, Kind.ALARMS, Kind.MAINTENANCE, Kind.INCIDENTS}
        ),
        # and the clock: each UTC midnight starts a day (the refresher re-renders it then)
        "history": frozenset({Kind.SERVICES, Kind.TOPOLOGY, Kind.ALARMS, Kind.MAINTENANCE}),
    },
}
#: views whose content moves on at every UTC midnight, with no new data
DAILY: Mapping[str, frozenset[str]] = {"peer": frozenset(), "customer": frozenset({"history"})}


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    loaded: LoadedPolicy
    role: str
    views: Mapping[str, ViewFn]

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def audience(self) -> str:
        return self.loaded.policy.audience

    @property
    def history_hours(self) -> frozenset[int]:
        """How long cleared alarms, resolved incidents and ended windows stay in this
        policy's views (for timed re-rendering)."""
        rules = self.loaded.policy.disclose
        found = {
            getattr(getattr(rules, kind, None), "history_hours", None)
            for kind in ("alarm", "incident", "maintenance")
        }
        return frozenset(h for h in found if isinstance(h, int))


def compile_policy(loaded: LoadedPolicy) -> CompiledPolicy:
    policy = loaded.policy
    if isinstance(policy, PeerPolicy):
        return CompiledPolicy(loaded, "peer", compile_peer(policy))
    assert isinstance(policy, CustomerPolicy)
    return CompiledPolicy(loaded, "customer", compile_customer(policy))


class PolicySet:
    """The active policies, by audience; ``customer/*`` serves customers without their own."""

    def __init__(self, policies: Iterable[CompiledPolicy]) -> None:
        self._by_audience = {p.audience: p for p in policies}

    def __iter__(self) -> Iterator[CompiledPolicy]:
        return iter(self._by_audience.values())

    def for_audience(self, audience: str) -> CompiledPolicy | None:
        hit = self._by_audience.get(audience)
        if hit is None and audience.startswith("customer/"):
            hit = self._by_audience.get("customer/*")
        return hit


def render(
    policy: CompiledPolicy,
    snapshot: Snapshot,
    audience: str,
    pseudonym: Pseudonymizer,
    now: datetime,
    only: Iterable[str] | None = None,
    settled: Settled | None = None,
) -> dict[str, ViewData]:
    """The items of every view ``policy`` discloses to ``audience`` (or just ``only``);
    ``settled``: the availability history kept beyond the alarms still held."""
    role, _, name = audience.partition("/")
    if role != policy.role:
        raise ValueError(f"policy for {policy.role} audiences cannot serve {audience}")
    ctx = Context(snapshot=snapshot, now=now, pseudonym=pseudonym, audience=audience)
    if settled is not None:
        ctx = Context(snapshot, now, pseudonym, audience, settled)
    wanted = set(policy.views) if only is None else set(only) & set(policy.views)
    out: dict[str, ViewData] = {}
    for view in sorted(wanted):
        items = policy.views[view](ctx, name)
        if isinstance(items, list):
            items.sort(key=lambda item: str(item.get("id", "")))
        out[view] = items
    return out


def next_boundary(
    snapshot: Snapshot, now: datetime, history_hours: Iterable[int]
) -> datetime | None:
    """The next moment a view changes with no new data: a window opens or closes, or a cleared
    alarm leaves the history. Views are re-rendered then."""
    moments: list[datetime] = []
    for window in snapshot.maintenance.values():
        moments.extend(t for t in (window.start, window.end) if t > now)
    for alarm in snapshot.alarms.values():
        if alarm.cleared_at is not None:
            for hours in set(history_hours):
                leave = alarm.cleared_at + timedelta(hours=hours)
                if leave > now:
                    moments.append(leave)
    return min(moments, default=None)
