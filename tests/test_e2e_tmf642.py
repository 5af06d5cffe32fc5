"""End to end over real TLS: TMF642 alarms are the peer's alarms view in TMF names, no more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningGateway
from tests.test_tmf642 import assert_subset

ALARMS = "/tmf-api/alarmManagement/v5/alarm"


@pytest.fixture(scope="module")
def served(served_tls: RunningGateway) -> RunningGateway:
    """Real sockets, real client certificates: what a peer's TMF tooling talks to."""
    return served_tls


def _view(client: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/alarms")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_tmf642_list_is_the_alarms_view_renamed_over_mtls(public: Any) -> None:
    client = public("peer/acme")
    response = client.get(ALARMS)
    assert response.status_code == 200, response.text
    alarms = response.json()
    view = _view(client)
    assert alarms, "the demo raises alarms on acme's interconnects"
    assert_subset(alarms, view)
    assert response.headers["X-Total-Count"] == response.headers["X-Result-Count"] == str(len(view))
    assert {a["alarmedObject"]["id"] for a in alarms} == {i["resource"] for i in view}
    # acme's policy lists no specific_problem: TMF642 has no specificProblem either
    assert not any("specificProblem" in a for a in alarms)


def test_filters_paging_and_field_selection(public: Any) -> None:
    client = public("peer/acme")
    everything = client.get(ALARMS).json()
    raised = client.get(ALARMS, params={"state": "raised"}).json()
    assert raised and {a["state"] for a in raised} == {"raised"}
    assert len(raised) == sum(1 for a in everything if a["state"] == "raised")
    severe = client.get(ALARMS, params={"perceivedSeverity": "major,critical"}).json()
    assert {a["perceivedSeverity"] for a in severe} <= {"major", "critical"}
    assert len(severe) == sum(a["perceivedSeverity"] in {"major", "critical"} for a in everything)

    last = len(everything) - 1
    page = client.get(ALARMS, params={"offset": last, "limit": 1})
    assert page.headers["X-Total-Count"] == str(len(everything))
    assert page.headers["X-Result-Count"] == "1"
    assert page.json() == everything[last:]
    past = client.get(ALARMS, params={"offset": len(everything)})
    assert past.json() == [] and past.headers["X-Result-Count"] == "0"

    slim = client.get(ALARMS, params={"fields": "state,perceivedSeverity"}).json()
    assert all(set(a) <= {"id", "href", "@type", "state", "perceivedSeverity"} for a in slim)
    assert [a["id"] for a in slim] == [a["id"] for a in everything]


def test_one_alarm_by_id_and_an_unknown_one(public: Any) -> None:
    client = public("peer/acme")
    first = client.get(ALARMS).json()[0]
    one = client.get(first["href"])
    assert one.status_code == 200 and one.json() == first
    again = client.get(first["href"], headers={"If-None-Match": one.headers["ETag"]})
    assert again.status_code == 304
    missing = client.get(f"{ALARMS}/no-such-alarm")
    # another peer's alarm id is answered as one that does not exist
    other = client.get(f"{ALARMS}/{_other_peers_alarm_id(public)}")
    assert missing.status_code == other.status_code == 404
    assert missing.content == other.content


def _other_peers_alarm_id(public: Any) -> str:
    items = _view(public("peer/globalnet"))
    assert items, "the demo has alarms on globalnet's interconnects"
    return str(items[0]["id"])


def test_invalid_query_is_422_naming_the_parameter(public: Any) -> None:
    client = public("peer/acme")
    for params, where in (
        ({"state": "burning"}, "query.state"),
        ({"fields": "id,secretField"}, "query.fields"),
        ({"limit": "0"}, "query.limit"),
        ({"perceivedSeverity": "CRITICAL;DROP"}, "query.perceivedSeverity"),
    ):
        response = client.get(ALARMS, params=params)
        assert response.status_code == 422, params
        assert [p["where"] for p in response.json()["error"]["problems"]] == [where]


def test_no_alarm_rule_no_tmf642(public: Any) -> None:
    assert public("peer/northwind").get(ALARMS).status_code == 404  # its policy has no alarms
    assert public("customer/globex").get(ALARMS).status_code == 404


def test_each_answer_is_recorded_as_a_disclosure(served: RunningGateway, public: Any) -> None:
    public("peer/acme").get(ALARMS, params={"state": "cleared"})
    gateway = served.gateway
    served.call(gateway.audit.flush())
    events, _ = served.call(
        gateway.audit.query(_query(principal="peer/acme", kind="disclosure", limit=50))
    )
    assert any(e["view"] == "tmf642/alarm" for e in events)


def _query(**kwargs: Any) -> Any:
    from gateway.policy.audit import AuditQuery

    return AuditQuery(**kwargs)


def test_tmf642_bodies_pass_the_leak_guard_on_their_way_out(
    fresh: RunningGateway, pki: Any
) -> None:
    """A word TMF642 adds (an alarm type) that is also an internal term somewhere else (here
    the id of an alarm on another router) makes the TMF answer 503 while the view stays
    served: the TMF bytes are screened with the audience's terms, not trusted for coming from
    a view."""
    from tests.conftest import SOURCE

    client = fresh.client("public", "peer/acme", pki)
    alarms = client.get(ALARMS).json()
    kinds = {a["alarmType"] for a in alarms if "alarmType" in a}
    assert kinds, "acme's alarms have X.733 causes"
    word = sorted(kinds)[0]
    alarm = {"id": word, "severity": "minor", "raised_at": "2031-01-01T00:00:00Z",
             "resource": {"node": "node-elsewhere-1"}}  # fmt: skip
    with fresh.client("internal", SOURCE, pki) as source:
        done = source.post("/v1/ingest/alarms", json={"alarms": [alarm]})
    assert done.status_code == 200, done.text
    fresh.call(fresh.gateway.refresher.wait_for(done.json()["revision"]))
    leaks = len(fresh.gateway.leaks)
    withheld = client.get(ALARMS)
    assert withheld.status_code == 503 and withheld.json()["error"]["code"] == "withheld"
    assert word.encode() not in withheld.content
    assert client.get("/v1/alarms").status_code == 200  # the view itself names no such word
    event = list(fresh.gateway.leaks)[leaks:]
    assert [(e.audience, e.view) for e in event] == [("peer/acme", ALARMS)]
    client.close()
