"""The console in a real browser: Debian's Chromium, staff client certificates, a TLS gateway.

Screenshots of every page go to artifacts/console/ (with timings.json): see console_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from gateway.demo.network import DemoData
from tests.conftest import SOURCE, STAFF, Pki, RunningGateway
from tests.console_browser import Console, as_principal, launched, record_timings
from tests.policyapi import BOB, gateway_with_copied_policies, policy_text, widen
from tests.waiting import wait_until

TYPO = "histroy_hours"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    tmp = tmp_path_factory.mktemp("console")
    with gateway_with_copied_policies(tmp, pki, demo, in_process=False) as running:
        yield running


@pytest.fixture(scope="module")
def browser(pki: Pki) -> Iterator[Browser]:
    with launched(pki) as launched_browser:
        yield launched_browser


def _console(browser: Browser, server: RunningGateway, pki: Pki, who: str) -> Console:
    return Console(as_principal(browser, server, pki, who), who)


def _with_typo(doc: dict[str, Any]) -> None:
    widen(doc)
    doc["disclose"]["alarm"][TYPO] = 48


def _narrow(doc: dict[str, Any]) -> None:
    doc["disclose"]["interconnect"]["fields"] = ["id"]


def _position(text: str, word: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), 1):
        if word in line:
            return number, line.index(word) + 1
    raise AssertionError(word)


def _published_fields(server: RunningGateway, pki: Pki) -> set[str]:
    with server.client("public", "peer/acme", pki) as acme:
        items = acme.get("/v1/alarms").json()["items"]
    return {field for item in items for field in item}


def test_the_four_eyes_flow_with_two_staff_members(
    browser: Browser, server: RunningGateway, pki: Pki
) -> None:
    alice = _console(browser, server, pki, STAFF)
    page = alice.page
    alice.open("/console")
    alice.screenshot("01-audiences")
    page.get_by_role("link", name="New draft for peer/acme").click()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert "audience: peer/acme" in page.input_value("#policy-text")

    # a misspelt key: the problem is listed with its line and column as it is typed
    bad = policy_text("peer-acme.yaml", _with_typo)
    line, column = _position(bad, TYPO)
    page.fill("#policy-text", bad)
    problem = page.locator("#validation button[data-line]")
    expect(problem).to_have_text(re.compile(rf"^Line {line}, column {column}: .*{TYPO}"))
    assert page.get_attribute("#policy-text", "aria-invalid") == "true"
    alice.screenshot("02-editor-problem")
    problem.click()  # the caret goes to the problem
    expect(page.locator("#caret")).to_have_text(f"Line {line}, column {column}")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("#action-result")).to_contain_text("422 invalid_policy")

    # fixed: a valid draft that widens (it adds alarm specific_problem)
    page.fill("#policy-text", policy_text("peer-acme.yaml", widen))
    expect(page.locator("#validation")).to_contain_text("Valid: a policy for peer/acme")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/console/drafts/\d+$"))
    page.wait_for_selector("body[data-ready=true]", state="attached")
    draft = page.url.rsplit("/", 1)[1]
    expect(page.locator("#diff-verdict")).to_contain_text("Widens disclosure")
    widening = page.locator("tr.widening", has_text="specific_problem")
    expect(widening.first).to_be_visible()
    expect(page.locator("details.view summary", has_text="alarms")).to_be_visible()
    alice.screenshot("03-draft-review")

    # its author may neither approve it nor activate it before someone else approves
    page.get_by_role("button", name=re.compile("^Approve version")).click()
    result = page.locator("#action-result")
    expect(result).to_contain_text("403 self_approval")
    expect(result).to_contain_text("staff/alice wrote draft")
    alice.screenshot("04-self-approval-refused")
    page.get_by_role("button", name="Activate").click()
    expect(result).to_contain_text("409 approval_required")
    assert "specific_problem" not in _published_fields(server, pki)

    # bob reviews and approves
    bob = _console(browser, server, pki, BOB)
    bob.open(f"/console/drafts/{draft}")
    bob.page.get_by_role("button", name=re.compile("^Approve version")).click()
    expect(bob.page.locator("#notice")).to_contain_text(f"Approved draft {draft}")
    expect(bob.page.locator("dl.meta")).to_contain_text("staff/bob (version")
    bob.screenshot("05-approved-by-bob")

    # alice activates: approved by bob, and acme is sent the new field
    alice.reload_ready()
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#notice")).to_contain_text("peer/acme now serves v2")
    expect(page.locator("#notice")).to_contain_text("approved by staff/bob")
    wait_until(lambda: "specific_problem" in _published_fields(server, pki), "the new field")

    # history, and a rollback that narrows: immediate
    alice.open("/console/audiences/peer/acme")
    rows = page.locator("table tbody tr")
    expect(rows.first).to_contain_text("staff/bob")
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator("#notice")).to_contain_text("peer/acme now serves v3")
    alice.screenshot("06-audience-history")
    wait_until(lambda: "specific_problem" not in _published_fields(server, pki), "rollback")

    # a draft written and withdrawn: kept, closed
    alice.open("/console/drafts/new?audience=peer/northwind")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/console/drafts/\d+$"))
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#notice")).to_contain_text("Withdrew draft")
    expect(page.locator("dl.meta")).to_contain_text("withdrawn")

    # every step is in the audit trail, filtered by kind
    alice.open("/console/audit?kind=approve")
    expect(page.locator("tbody tr").first).to_contain_text("staff/bob")
    alice.screenshot("07-audit")
    alice.open("/console/audit?kind=rejected")
    expect(page.locator("tbody")).to_contain_text("cannot approve")
    alice.open("/console/status")
    expect(page.locator("main")).to_contain_text("Freshness lag")
    expect(page.locator("main")).to_contain_text("cannot approve")  # refused policy changes
    alice.screenshot("08-status")
    assert alice.errors == [] and bob.errors == []


def test_explain_shows_the_rule_and_its_line(
    browser: Browser, server: RunningGateway, pki: Pki
) -> None:
    staff = _console(browser, server, pki, STAFF)
    page = staff.page
    staff.open("/console/explain?audience=peer/globalnet&view=alarms&item=0")
    withheld = page.locator("tr[data-field=probable_cause]")
    expect(withheld).to_contain_text("withheld")
    expect(withheld).to_contain_text("not listed in disclose.alarm.fields")
    severity = page.locator("tr[data-field=severity]")
    expect(severity).to_contain_text("disclosed")
    rule = severity.get_by_role("button", name=re.compile(r"^line \d+, column \d+: disclose"))
    rule.click()
    line = int(re.findall(r"line (\d+)", rule.inner_text())[0])
    hit = page.locator("#policy-source li.hit")
    expect(hit).to_have_attribute("id", f"line-{line}")
    expect(hit).to_contain_text("severity")
    staff.screenshot("09-explain")
    # another view, chosen with the keyboard-usable selects
    page.select_option("#x-view", "interconnects")
    expect(page.locator("tr[data-field=utilisation_pct]")).to_contain_text("rounded to 0")
    assert staff.errors == []


def test_refusals_a_browser_meets(browser: Browser, server: RunningGateway, pki: Pki) -> None:
    alice = _console(browser, server, pki, STAFF)
    page = alice.page
    alice.open("/console")
    # a change from the console's own page without its token
    got = page.evaluate(
        """async () => { const r = await fetch('/v1/admin/policies/validate', {method: 'POST',
             headers: {'content-type': 'application/json'}, body: '{"text": "audience: x"}'});
             return [r.status, await r.json()]; }"""
    )
    assert got[0] == 403 and "X-Demarc-CSRF" in got[1]["error"]["message"]

    # a page on another site posts an empty body to activate a narrowing draft (a "simple"
    # request: no preflight); the browser presents alice's certificate, the guard refuses
    with server.client("internal", STAFF, pki) as api:
        text = policy_text("peer-northwind.yaml", _narrow)
        draft = api.post("/v1/admin/drafts", json={"text": text}).json()["id"]
        refused = server.gateway.tls_rejections.counts["csrf-cross-site"]
        target = f"{server.internal_url}/v1/admin/drafts/{draft}/activate"
        page.route(
            "https://attacker.example/",
            lambda route: route.fulfill(
                content_type="text/html",
                body=f"<script>fetch('{target}', {{method: 'POST', mode: 'no-cors', "
                "credentials: 'include'}).then(() => document.title = 'sent')</script>",
            ),
        )
        page.goto("https://attacker.example/")
        expect(page).to_have_title("sent")
        counts = server.gateway.tls_rejections.counts
        wait_until(lambda: counts["csrf-cross-site"] > refused, "the forged request")
        assert api.get(f"/v1/admin/drafts/{draft}").json()["state"] == "open"

    # certificates that are not staff
    for principal, message in ((SOURCE, "only staff may use the console"),
                               ("peer/acme", "names no principal allowed")):  # fmt: skip
        other = _console(browser, server, pki, principal)
        response = other.page.goto("/console")
        assert response is not None and response.status == 403
        assert message in other.page.inner_text("body")
    alice.screenshot("10-refused")  # the attacker's page, after its request was refused


def test_every_page_is_accessible_and_timed(
    browser: Browser, server: RunningGateway, pki: Pki
) -> None:
    staff = _console(browser, server, pki, STAFF)
    page = staff.page
    pages = {
        "audiences": "/console",
        "audience": "/console/audiences/customer/globex",
        "new-draft": "/console/drafts/new?audience=customer/globex",
        "draft": "/console/drafts/1",
        "audit": "/console/audit",
        "status": "/console/status",
        "explain": "/console/explain?audience=customer/globex&view=services",
    }
    staff.open("/console")  # the first connection's TLS handshakes, not counted below
    timings = {}
    for name, path in pages.items():
        timings[name] = staff.open(path)
        assert page.locator("main").count() == 1 and page.locator("h1").count() == 1
        assert page.locator("nav[aria-label]").count() == 1
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(e => !e.labels.length && !e.getAttribute('aria-label'))
                 .map(e => e.id || e.name)"""
        )
        assert unlabelled == [], (name, unlabelled)
        page.keyboard.press("Tab")  # the first stop skips to the content
        assert page.evaluate("document.activeElement.className") == "skip", name
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main", name
        staff.screenshot(f"page-{name}")
    record_timings("timings", timings)
    assert staff.errors == []
