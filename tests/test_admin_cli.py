"""`demarc admin` against a real gateway: the four-eyes walkthrough, as staff would type it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gateway.cli import main
from gateway.demo.network import DemoData
from tests.conftest import Pki, RunningGateway
from tests.policyapi import ALICE, BOB, policy_text, widen


def _configure(tmp_path: Path, pki: Pki, server: RunningGateway, who: str) -> Path:
    role, name = who.split("/")
    config = tmp_path / f"{name}.yaml"
    code = main(["admin", "--config", str(config), "configure", "--url", server.internal_url,
                 "--cert", str(pki.directory / f"{role}-{name}.crt"),
                 "--key", str(pki.directory / f"{role}-{name}.key"),
                 "--ca", str(pki.directory / "ca.crt")])  # fmt: skip
    assert code == 0
    return config


class Staff:
    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.capsys = config, capsys

    def __call__(self, *args: str, ok: bool = True) -> str:
        self.capsys.readouterr()
        code = main(["admin", "--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        assert (code == 0) is ok, (args, out, err)
        if not ok:
            # the gateway runs in this process: its JSON log lines share stderr
            said = [line for line in err.splitlines() if not line.startswith("{")]
            assert len(said) == 1 and "Traceback" not in err, err  # one line
            return said[0]
        return out

    def json(self, *args: str) -> object:
        return msgspec.json.decode(self(*args[:0], "--json", *args))


def test_four_eyes_walkthrough(
    fresh_tls: RunningGateway, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = Staff(_configure(tmp_path, pki, fresh_tls, ALICE), capsys)
    bob = Staff(_configure(tmp_path, pki, fresh_tls, BOB), capsys)
    wider = tmp_path / "peer-acme.yaml"
    wider.write_text(policy_text("peer-acme.yaml", widen), encoding="utf-8")

    created = alice("draft", str(wider))
    draft_id = int(created.split()[1])
    assert "for peer/acme" in created and "approvals: none" in created
    digest = alice.json("show", str(draft_id))["digest"]  # type: ignore[index]
    assert f"draft {draft_id} " in alice("drafts", "--audience", "peer/acme")

    diff = alice("diff", str(draft_id), "--audience", "peer/acme")
    assert "WIDENS disclosure" in diff and "specific_problem" in diff

    refused = alice("activate", str(draft_id), ok=False)
    assert refused.startswith("demarc admin: 4")
    own = alice("approve", str(draft_id), "--digest", digest, ok=False)
    assert own.startswith("demarc admin: 4")

    assert "approved: " in bob("approve", str(draft_id), "--digest", digest[:12])
    activated = alice("activate", str(draft_id), "--digest", digest)
    assert activated.startswith("activated: v2") and f"approved by {BOB}" in activated

    history = alice("history", "peer/acme").splitlines()
    assert [line.split()[0] for line in history] == ["v1", "v2"]

    rolled = alice("rollback", "peer/acme", "--to", "1")
    assert rolled.startswith("rolled back: v3")
    assert "rollback" in alice("history", "peer/acme").splitlines()[-1]

    # forward again widens: it waits as a draft; repeating the command makes no second draft
    waits = alice("rollback", "peer/acme", "--to", "2")
    assert waits.startswith("rollback widens") and "already open" not in waits
    waiting = waits.split("draft ")[1].split()[0]
    again = bob("rollback", "peer/acme", "--to", "2")
    assert f"draft {waiting} was already open for this rollback: no new draft" in again
    listed = alice("drafts", "--audience", "peer/acme").splitlines()
    assert [line.split()[1] for line in listed if line.startswith("draft ")] == [waiting]

    approvals = alice("audit", "--kind", "approve")
    assert BOB in approvals
    assert "CRL of CN=" in alice("status")  # and when it expires
    status = alice.json("status")
    assert isinstance(status, dict) and "peer/acme" in status["audiences"]


def test_a_missing_config_is_one_line_saying_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["admin", "--config", str(tmp_path / "none.yaml"), "status"])
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if not line.startswith("{")]
    assert code == 2 and len(said) == 1, err
    assert "demarc admin configure" in err


def test_a_draft_is_withdrawn_from_the_command_line(
    fresh_tls: RunningGateway, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = Staff(_configure(tmp_path, pki, fresh_tls, ALICE), capsys)
    bob = Staff(_configure(tmp_path, pki, fresh_tls, BOB), capsys)
    wider = tmp_path / "peer-acme.yaml"
    wider.write_text(policy_text("peer-acme.yaml", widen), encoding="utf-8")
    draft_id = alice("draft", str(wider)).split()[1]
    assert "withdrawn" in bob("withdraw", draft_id)
    assert f"draft {draft_id} " not in alice("drafts")
    assert alice("withdraw", draft_id, ok=False).startswith("demarc admin: 409")


def test_staff_work_a_ticket_from_the_shell(
    fresh_tls: RunningGateway,
    pki: Pki,
    demo: DemoData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.test_e2e_tickets import circuits, new_ticket, open_ticket

    alice = Staff(_configure(tmp_path, pki, fresh_tls, ALICE), capsys)
    circuit, link = sorted(circuits(demo, "acme").items())[0]
    with fresh_tls.client("public", "peer/acme", pki) as acme:
        ticket = open_ticket(acme, new_ticket(circuit)).json()
        listed = alice("ticket", "list", "--audience", "peer/acme")
        assert ticket["id"] in listed and "acknowledged" in listed and "next: --after" in listed
        shown = alice("ticket", "show", ticket["id"])
        assert f"Interconnect {circuit} = link {link}" in shown  # staff see what it names
        moved = alice("ticket", "update", ticket["id"], "--status", "inProgress",
                      "--note", "optic swap at 14:00", "--visible", "--ref", "INC42")  # fmt: skip
        assert "inProgress" in moved and "[party]: optic swap at 14:00" in moved
        alice("ticket", "update", ticket["id"], "--note", "vendor case 7")  # internal
        refused = alice("ticket", "update", ticket["id"], "--status", "closed", ok=False)
        assert refused.startswith("demarc admin: 409 conflict")
        seen = acme.get(ticket["href"]).json()
    assert seen["status"] == "inProgress"
    assert [n["text"] for n in seen["note"] if n["source"] == "seller"] == ["optic swap at 14:00"]


def test_incidents_and_planned_work_from_the_command_line(
    fresh_tls: RunningGateway,
    pki: Pki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    demo: DemoData,
) -> None:
    alice = Staff(_configure(tmp_path, pki, fresh_tls, ALICE), capsys)
    service = demo.situation.maintenance
    opened = alice("incident", "open", "--id", "INC-CLI-1", "--service", service,
                   "--title", "Slow backups", "--impact", "degraded",
                   "--text", "Backups to the data centre run slowly.")  # fmt: skip
    assert opened.startswith("incident INC-CLI-1: investigating: Slow backups")
    assert f"services {service}" in opened and "Backups to the data centre" in opened
    updated = alice("incident", "update", "INC-CLI-1", "--status", "resolved",
                    "--text", "Back to normal speed.")  # fmt: skip
    assert updated.splitlines()[0] == "incident INC-CLI-1: resolved: Slow backups"
    assert [line.split()[1] for line in updated.splitlines() if line.startswith("  2")] == [
        "investigating",
        "resolved",
    ]
    assert "INC-CLI-1" in alice("incident", "list", "--service", service)
    shown = alice.json("incident", "show", "INC-CLI-1")
    assert shown["status"] == "resolved"  # type: ignore[index]
    router = sorted(demo.secrets.node_names)[0]
    refused = alice("incident", "update", "INC-CLI-1", "--status", "monitoring",
                    "--text", f"watching {router}", ok=False)  # fmt: skip
    assert refused.startswith("demarc admin: 422") and "$.text: names a router name" in refused
    window = next(w for w in demo.maintenance["maintenance"] if "updates" in w)
    done = alice("maintenance", "update", window["id"], "--status", "completed",
                 "--text", "Finished.")  # fmt: skip
    assert done.startswith(f"maintenance {window['id']}: completed")
    missing = alice("incident", "update", "INC-NONE", "--status", "resolved", ok=False)
    assert missing.startswith("demarc admin: 404")
