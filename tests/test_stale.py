"""Stale references, memoised per part and found by resource, equal the obvious scan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.disclosure.stale import StaleReferences, stale_references
from gateway.model import Change, MaintenanceStatus, ResourceRef, Snapshot
from tests.test_snapshot import changes


def naive(snapshot: Snapshot) -> StaleReferences:
    """Every record checked one by one against the topology's resources and the services."""
    known = {ResourceRef(node=n.node_id) for n in snapshot.topology.nodes}
    known |= {ResourceRef(node=n.node_id, tp=t.tp_id) for n in snapshot.topology.nodes
              for t in n.tps}  # fmt: skip
    known |= {ResourceRef(link=lk.link_id) for lk in snapshot.topology.links}

    def ok(ref: ResourceRef) -> bool:
        return ref.service in snapshot.services if ref.service is not None else ref in known

    finished = (MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED)
    return StaleReferences(
        tuple(sorted(s.service_id for s in snapshot.services.values()
                     if not all(map(ok, (*s.endpoints, *s.resources))))),
        tuple(sorted(a.alarm_id for a in snapshot.alarms.values()
                     if a.active and a.resource is not None and not ok(a.resource))),
        tuple(sorted(w.maintenance_id for w in snapshot.maintenance.values()
                     if w.status not in finished and not all(map(ok, w.resources)))),
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(changes, max_size=20))
def test_stale_references_follow_every_change(sequence: list[Change]) -> None:
    snapshot = Snapshot()
    seen = [snapshot]
    for revision, change in enumerate(sequence, start=1):
        snapshot = snapshot.apply(change, revision)
        seen.append(snapshot)
        assert stale_references(snapshot) == naive(snapshot)
    # asked again about an older snapshot (another request in flight): never a stale memo
    for old in reversed(seen):
        assert stale_references(old) == naive(old)
