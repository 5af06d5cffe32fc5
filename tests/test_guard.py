"""Tests of the leak guard: every term class, its spellings, token boundaries, disclosure."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.disclosure import Pseudonymizer, audience_key, render
from gateway.leakguard import (
    DisclosedTerms,
    Guard,
    Hit,
    TermClass,
    Vocabulary,
    build_vocabulary,
    vocabulary_revision,
)
from gateway.leakguard.contributions import alarm_terms
from gateway.model import (
    AddMetricSamples,
    Alarm,
    IncidentRecord,
    Link,
    LinkKind,
    Maintenance,
    MetricSample,
    Node,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    TerminationPoint,
    Topology,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import leakguard  # the bench's demo pipeline: ingest, policies, what each audience is shown

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ALARM_TEXT = "LOS on pe7.zrh3 et-0/0/5, ticket INC0012345 opened by noc-shift-b2"
MW_TEXT = "Swap optic in rack R12.04 at Zurich Binz"


def _snapshot() -> Snapshot:
    pe7 = Node(
        node_id="pe7.zrh3.core.example.net",
        name="pe7.zrh3",
        router_ids=("10.255.9.7",),
        site="Zurich Binz",
        tps=(
            TerminationPoint("et-0/0/5", addresses=("10.20.0.1/31", "2001:db8:20::1/64")),
            TerminationPoint("ae1"),
            TerminationPoint("xe"),  # too short to be a term
            TerminationPoint("et-0/1/0", addresses=("198.51.100.9",)),
        ),
    )
    p1 = Node(node_id="p1.zrh3.core.example.net", name="p1.zrh3", site="Zurich Binz")
    links = (
        Link("pe7.zrh3,et-0/0/5,p1.zrh3,et-0/0/0", pe7.node_id, "et-0/0/5", p1.node_id, "et-0/0/0",
             name="ZRH3-CORE-LAG-7"),
        Link("pe7.zrh3,et-0/1/0,acme", pe7.node_id, "et-0/1/0", "acme-zrh-1", "hu-3/0/1",
             kind=LinkKind.INTERCONNECT, name="ZRH-PNI-ACME-01", peer="acme",
             remote_node="203.0.113.7", remote_tp="hu-3/0/1"),
        Link("pe7.zrh3,ae1,globex", pe7.node_id, "ae1", "globex-edge-9", "Bundle-Ether9",
             kind=LinkKind.INTERCONNECT, name="ZRH-PNI-GLOBEX-02", peer="globex",
             remote_node="192.0.2.99", remote_tp="Bundle-Ether9"),
    )  # fmt: skip
    alarm = Alarm(
        alarm_id="am-6e1f4a1c2b3d4e5f",
        resource=ResourceRef(node=pe7.node_id, tp="et-0/0/5"),
        severity=Severity.CRITICAL,
        raised_at=NOW,
        text=ALARM_TEXT,
        source="alertmanager",
        labels=(
            ("alertname", "InterfaceDown"),
            ("cluster", "noc-eu-west-2"),
            ("instance", "prom-exporter-7.noc.example.net:9116"),
            ("job", "snmp"),
            ("peer", "acme"),
            ("runbook_url", "https://wiki.noc.example.net/runbooks/LinkDown"),
            ("severity", "critical"),
        ),
    )
    window = Maintenance(
        "CHG-2026-0099",
        (ResourceRef(node=pe7.node_id),),
        NOW,
        NOW.replace(hour=12),
        description=MW_TEXT,
    )
    incident = IncidentRecord("INC-2026-0417", title="Backup line down",
                              services=("SVC-INITECH-0042",))  # fmt: skip
    service = Service(
        "SVC-INITECH-0042", "initech", name="Initech Zurich Backup Line",
        endpoints=(ResourceRef(node=pe7.node_id, tp="et-0/1/0"),),
    )  # fmt: skip
    return Snapshot(
        revision=3,
        topology=Topology("zrh-metro-core", (pe7, p1), links),
        services={service.service_id: service},
        alarms={alarm.alarm_id: alarm},
        maintenance={window.maintenance_id: window},
        incidents={incident.incident_id: incident},
        kind_revisions={
            "topology": 1,
            "services": 1,
            "alarms": 2,
            "maintenance": 3,
            "incidents": 4,
        },
    )


SNAPSHOT = _snapshot()
GUARD = Guard(build_vocabulary(SNAPSHOT, disclosed=DisclosedTerms()))


def _digest(term: str) -> str:
    return hashlib.sha256(term.encode()).hexdigest()[:12]


def _found(guard: Guard, body: bytes) -> set[tuple[TermClass, str]]:
    return {(hit.term_class, hit.digest) for hit in guard.scan(body)}


CLASSES = [
    (TermClass.NODE_ID, "pe7.zrh3.core.example.net"),
    (TermClass.NODE_NAME, "pe7.zrh3"),
    (TermClass.TP_NAME, "et-0/0/5"),
    (TermClass.LINK_ID, "pe7.zrh3,et-0/0/5,p1.zrh3,et-0/0/0"),
    (TermClass.LINK_NAME, "ZRH3-CORE-LAG-7"),
    (TermClass.SITE, "Zurich Binz"),
    (TermClass.ADDRESS, "10.255.9.7"),
    (TermClass.URL, "https://wiki.noc.example.net/runbooks/LinkDown"),
    (TermClass.HOSTNAME, "prom-exporter-7.noc.example.net"),
    (TermClass.LABEL_VALUE, "noc-eu-west-2"),
    (TermClass.TEXT_TOKEN, "INC0012345"),
    (TermClass.SERVICE_ID, "SVC-INITECH-0042"),
    (TermClass.SERVICE_NAME, "Initech Zurich Backup Line"),
    (TermClass.ALARM_ID, "am-6e1f4a1c2b3d4e5f"),
    (TermClass.MAINTENANCE_ID, "CHG-2026-0099"),
    (TermClass.INCIDENT_ID, "INC-2026-0417"),
    (TermClass.NETWORK_ID, "zrh-metro-core"),
]


def test_every_class_is_covered() -> None:
    assert {cls for cls, _ in CLASSES} == set(TermClass)


@pytest.mark.parametrize(("cls", "term"), CLASSES, ids=[c.value for c, _ in CLASSES])
def test_a_hit_for_each_class(cls: TermClass, term: str) -> None:
    body = msgspec.json.encode({"id": "ic-0f3a", "items": [{"text": f"see {term} now"}]})
    assert (cls, _digest(term)) in _found(GUARD, body)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"v": "et-0/0/5"}).replace("/", "\\/"),  # PHP, some Java encoders
        json.dumps({"v": "Zurich Binz", "w": "Z\u00fcrich"}, ensure_ascii=True),
        '{"v": "pe7.zrh3\\ndown"}',  # the letter before is the end of an escape
        '{"v": "down:\\npe7.zrh3"}',
        '{"v": "\\u00e9pe7.zrh3"}',
        '{"v": "\\"pe7.zrh3\\""}',
    ],
)
def test_json_escaped_forms(body: str) -> None:
    assert GUARD.scan(body.encode())


def test_json_escaped_non_ascii_and_quotes() -> None:
    guard = Guard(Vocabulary({'Zürich "Binz" 2': TermClass.SITE}))
    for ensure_ascii in (True, False):
        assert guard.scan(
            json.dumps({"v": 'at Zürich "Binz" 2'}, ensure_ascii=ensure_ascii).encode()
        )
    assert guard.scan(b'{"v": "Z\\u00FCrich \\"Binz\\" 2"}')  # upper-case hex digits
    html_safe = Guard(Vocabulary({"AT&T <Main>": TermClass.SITE}))  # as Go's encoder writes it
    assert html_safe.scan(b'{"site": "AT\\u0026T \\u003cMain\\u003e"}')


@pytest.mark.parametrize(
    "encoded",
    [
        "et-0%2F0%2F5",
        "et-0%2f0%2f5",
        "2001%3Adb8%3A20%3A%3A1",
        "2001%3adb8%3a20%3a%3a1",
        "Zurich%20Binz",
        "Zurich+Binz",
        "https%3A%2F%2Fwiki.noc.example.net%2Frunbooks%2FLinkDown",
        "%22pe7.zrh3.core.example.net%22",  # the hex digit before is the end of %22
    ],
)
def test_url_encoded_forms(encoded: str) -> None:
    body = msgspec.json.encode(
        {"link": f"https://grafana.example.com/d/x?var-q={encoded}&from=now-1h"}
    )
    assert GUARD.scan(body)


@pytest.mark.parametrize(
    "spelling",
    [
        "2001:db8:20::1",
        "2001:DB8:20::1",
        "2001:0db8:0020:0000:0000:0000:0000:0001",
        "2001:0DB8:0020:0000:0000:0000:0000:0001",
        "2001:db8:20:0:0:0:0:1",
        "2001:db8:20::0.0.0.1",
        "2001:0db8:0020:0000:0000:0000:0.0.0.1",
        "2001:db8:20::1/64",
        "[2001:db8:20::1]:179",
    ],
)
def test_ipv6_spellings(spelling: str) -> None:
    hits = GUARD.scan(msgspec.json.encode({"peer": spelling}))
    assert (TermClass.ADDRESS, _digest("2001:db8:20::1")) in {
        (h.term_class, h.digest) for h in hits
    }


@pytest.mark.parametrize(
    "spelling", ["10.20.0.1", "10.20.0.1/31", "10.20.0.1:179", "at 10.20.0.1."]
)
def test_ipv4_with_and_without_prefix_length(spelling: str) -> None:
    assert (TermClass.ADDRESS, _digest("10.20.0.1")) in _found(
        GUARD, msgspec.json.encode([spelling])
    )


@pytest.mark.parametrize(
    "other", ["10.20.0.10", "110.20.0.1", "2001:db8:20::1:5", "fd00::2001:db8:20::1"]
)
def test_addresses_are_whole_tokens(other: str) -> None:
    assert not GUARD.scan(msgspec.json.encode({"v": other}))


def test_token_boundaries() -> None:
    assert not GUARD.scan(msgspec.json.encode({"id": "ic-3fae1b0c9d8e7f6a", "tp": "tp-aae1"}))
    assert not GUARD.scan(b'{"v": "ae12", "w": "xpe7.zrh3", "x": "pe7.zrh3b"}')
    [hit] = GUARD.scan(b'{"id": "ic-3fae1b0c9d8e7f6a", "tp": "ae1"}')
    assert hit == Hit(TermClass.TP_NAME, _digest("ae1"), 37)


def test_short_and_generic_values_are_not_terms() -> None:
    terms = build_vocabulary(SNAPSHOT, disclosed=DisclosedTerms()).terms
    assert "xe" not in terms  # a two-letter tp
    # severity and alertname are published as such; plain words are in names views show
    assert not {"critical", "InterfaceDown", "snmp", "acme"} & set(terms)
    assert not GUARD.scan(msgspec.json.encode({"severity": "critical", "id": "ACME-1", "n": 9116}))


def test_hits_carry_no_clear_text() -> None:
    term = "pe7.zrh3.core.example.net"
    hits = GUARD.scan(msgspec.json.encode({"v": term}))
    assert hits
    for hit in hits:
        assert set(hit._fields) == {"term_class", "digest", "offset"}
        assert len(hit.digest) == 12 and int(hit.digest, 16) >= 0
        assert "zrh3" not in repr(hit) and "zrh3" not in str(hit)
    assert (TermClass.NODE_ID, _digest(term)) in {(h.term_class, h.digest) for h in hits}


def test_digests_name_their_terms_in_a_large_vocabulary() -> None:
    terms = {f"r{i}.site{i % 97}": TermClass.NODE_NAME for i in range(50_000)}
    guard = Guard(Vocabulary(terms))
    body = msgspec.json.encode({"a": "r49999.site44", "b": ["r7.site7", "r12345.site26"]})
    assert [hit.digest for hit in guard.scan(body)] == [
        _digest("r49999.site44"),
        _digest("r7.site7"),
        _digest("r12345.site26"),
    ]


def test_empty_body_and_empty_vocabulary() -> None:
    assert GUARD.scan(b"") == []
    assert Guard(Vocabulary({})).scan(b'{"v": "pe7.zrh3"}') == []


def test_disclosed_terms_are_not_hits() -> None:
    disclosed = DisclosedTerms(
        circuit_names=frozenset({"ZRH-PNI-ACME-01"}),
        remote_ids=frozenset({"203.0.113.7", "hu-3/0/1", "acme-zrh-1"}),
    )
    guard = Guard(build_vocabulary(SNAPSHOT, disclosed=disclosed))
    published = {"id": "ZRH-PNI-ACME-01", "remote_node": "203.0.113.7", "remote_tp": "hu-3/0/1"}
    assert not guard.scan(msgspec.json.encode([published]))
    # another peer's circuit and ends stay secret, as do ours
    for secret in ("ZRH-PNI-GLOBEX-02", "Bundle-Ether9", "192.0.2.99", "et-0/1/0"):
        assert guard.scan(msgspec.json.encode([{"id": secret}])), secret
    assert GUARD.scan(b'"ZRH-PNI-ACME-01"')  # not disclosed to others


def test_a_disclosed_name_discloses_the_terms_inside_it() -> None:
    name = "Globex Internet, Zurich Binz 1G"
    disclosed = DisclosedTerms(service_names=frozenset({name}))
    guard = Guard(build_vocabulary(SNAPSHOT, disclosed=disclosed))
    assert not guard.scan(msgspec.json.encode([{"name": name}]))
    assert guard.scan(b'"pe7.zrh3"')


def test_kept_text_discloses_what_it_names() -> None:
    guard = Guard(
        build_vocabulary(SNAPSHOT, disclosed=DisclosedTerms(texts=frozenset({ALARM_TEXT})))
    )
    assert not guard.scan(msgspec.json.encode({"text": ALARM_TEXT}))
    assert guard.scan(msgspec.json.encode({"text": MW_TEXT}))  # the maintenance text is withheld
    assert guard.scan(b'"pe7.zrh3.core.example.net"')  # the text named pe7.zrh3, not its FQDN


def test_disclosed_ids_and_extra_terms() -> None:
    guard = Guard(
        build_vocabulary(
            SNAPSHOT,
            disclosed=DisclosedTerms(service_ids=frozenset({"INC0012345"})),
            extra=[(TermClass.URL, "http://alertmanager.noc.example.net:9093")],
        )
    )
    assert not guard.scan(b'"INC0012345"')
    assert guard.scan(b'"http://alertmanager.noc.example.net:9093/#/alerts"')
    assert guard.scan(b'"alertmanager.noc.example.net"')


def test_vocabulary_revision_ignores_metrics() -> None:
    sample = MetricSample(ResourceRef(link="x"), "utilisation_pct", 1.0, NOW)
    later = SNAPSHOT.apply(AddMetricSamples((sample,)), 4)
    assert vocabulary_revision(later) == vocabulary_revision(SNAPSHOT) == (1, 1, 2, 3, 4)


# -- the demo network: the engine's views are clean, and every secret is caught -----------


@pytest.fixture(scope="module")
def demo() -> tuple[Snapshot, list[tuple[str, Any]]]:
    return leakguard.demo_snapshot(), leakguard.demo_audiences()


def test_demo_views_have_no_hits(demo: tuple[Snapshot, list[tuple[str, Any]]]) -> None:
    snapshot, audiences = demo
    for audience, policy in audiences:
        views = render(policy, snapshot, audience, Pseudonymizer(audience_key(b"k", audience)), NOW)
        disclosed = leakguard.disclosed_for(policy, snapshot, audience)
        guard = Guard(build_vocabulary(snapshot, disclosed=disclosed))
        for name, items in views.items():
            assert guard.scan(msgspec.json.encode(items)) == [], (audience, name)


def test_demo_secrets_are_caught(demo: tuple[Snapshot, list[tuple[str, Any]]]) -> None:
    snapshot, _ = demo
    secrets = leakguard.build_demo(leakguard.NOW).secrets
    guard = Guard(build_vocabulary(snapshot, disclosed=DisclosedTerms()))
    named = secrets.node_ids | secrets.node_names | secrets.tp_names | secrets.link_ids
    sites = {s for s in secrets.sites if " " in s}  # site codes only appear inside node names
    for secret in named | secrets.addresses | sites:
        assert guard.scan(msgspec.json.encode({"text": f"on {secret}"})), secret
    for text in secrets.texts:  # every withheld text names something
        assert guard.scan(msgspec.json.encode({"text": text}))


# -- property: planted names and addresses are always found ------------------------------

NAMES = st.from_regex(r"[a-z]{1,4}[0-9]{1,2}\.[a-z]{3}[0-9]{1,2}", fullmatch=True)
ADDRESSES = st.one_of(  # networks without loopback and unspecified, which are no secrets
    *(st.ip_addresses(network=net) for net in ("10.0.0.0/8", "198.51.100.0/24", "100.64.0.0/10")),
    *(st.ip_addresses(network=net) for net in ("2001:db8::/32", "2001:db8::/96", "fd00::/8")),
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=16,
)


def _spell(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, how: int) -> str:
    if isinstance(ip, ipaddress.IPv4Address):
        return (str(ip), f"{ip}/32", f"{ip}:443")[how % 3]
    return (str(ip), ip.exploded, str(ip).upper(), f"[{ip}]:179")[how % 4]


def _plant(doc: Any, value: str, path: list[int]) -> Any:
    """``doc`` with ``value`` as a new list item, dict value, or inside a string."""
    if isinstance(doc, list) and doc and path:
        i = path[0] % len(doc)
        return [*doc[:i], _plant(doc[i], value, path[1:]), *doc[i + 1 :]]
    if isinstance(doc, dict) and doc and path:
        key = sorted(doc)[path[0] % len(doc)]
        return {**doc, key: _plant(doc[key], value, path[1:])}
    if isinstance(doc, str) and path:
        # only where a word starts, so as not to split a value planted before
        starts = [0, len(doc), *(i for i in range(1, len(doc)) if doc[i - 1] == " ")]
        at = starts[path[0] % len(starts)]
        return f"{doc[:at]} {value} {doc[at:]}"
    return [doc, value]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(NAMES, min_size=1, max_size=3, unique=True),
    addresses=st.lists(ADDRESSES, min_size=1, max_size=3, unique=True),
    doc=JSON,
    paths=st.lists(st.lists(st.integers(0, 50), max_size=4), min_size=6, max_size=6),
    how=st.integers(0, 11),
    ensure_ascii=st.booleans(),
)
def test_planted_terms_are_always_found(
    names: list[str],
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    doc: Any,
    paths: list[list[int]],
    how: int,
    ensure_ascii: bool,
) -> None:
    tp = TerminationPoint("xe", addresses=tuple(str(a) for a in addresses))  # "xe": no term
    nodes = tuple(
        Node(f"{n}.example.net", name=n, tps=(tp,) if i == 0 else ()) for i, n in enumerate(names)
    )
    snapshot = Snapshot(topology=Topology(nodes=nodes))
    guard = Guard(build_vocabulary(snapshot, disclosed=DisclosedTerms()))
    clean = json.dumps(doc, ensure_ascii=ensure_ascii).encode()
    assume(not any(n in clean.decode() for n in names))
    assume(not any(str(a) in clean.decode().lower() for a in addresses))
    assert guard.scan(clean) == []
    planted = [*names, *(_spell(a, how) for a in addresses)]
    for value, path in zip(planted, paths, strict=False):
        doc = _plant(doc, value, path)
    body = json.dumps(doc, ensure_ascii=ensure_ascii).encode()
    found = {hit.digest for hit in guard.scan(body)}
    for term in [*names, *(str(a) for a in addresses)]:
        assert _digest(term) in found, term


def test_the_bare_alertmanager_fingerprint_of_an_occurrence_is_a_term() -> None:
    occurrence = Alarm(
        alarm_id="am-6e1f4a1c2b3d4e5f-20261127T210411Z",
        resource=None,
        severity=Severity.CRITICAL,
        raised_at=NOW,
        source="alertmanager",
    )
    terms = {term for term, _ in alarm_terms(occurrence).pairs}
    assert {"6e1f4a1c2b3d4e5f", "6e1f4a1c2b3d4e5f-20261127T210411Z"} <= terms
