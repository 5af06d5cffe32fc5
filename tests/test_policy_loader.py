"""Tests for policy files: YAML → validated policy, every problem with file:line:col and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.disclosure import load_policy_dir, parse_policy
from gateway.disclosure.policy import CustomerPolicy, PeerPolicy, TextTemplate
from gateway.errors import PolicyError, Problem

POLICIES = Path(__file__).resolve().parent.parent / "policies"

PEER_OK = """\
audience: peer/acme
disclose:
  interconnect:
    fields: [id, status]
"""


def refused(text: str, source: str = "p.yaml") -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source)
    assert info.value.problems, "a PolicyError must name at least one problem"
    return info.value.problems


def only(text: str) -> tuple[str, str]:
    (problem,) = refused(text)
    return problem.where, problem.message


# -- what loads ---------------------------------------------------------------------------


def test_sample_policies_load() -> None:
    loaded = load_policy_dir(POLICIES)
    audiences = {p.policy.audience for p in loaded}
    assert audiences == {
        "customer/*",
        "customer/globex",
        "peer/acme",
        "peer/globalnet",
        "peer/northwind",
    }
    for item in loaded:
        expected = CustomerPolicy if item.policy.audience.startswith("customer/") else PeerPolicy
        assert isinstance(item.policy, expected)
        assert item.source.endswith(".yaml")


def test_sample_policy_details_parsed() -> None:
    loaded = {p.policy.audience: p.policy for p in load_policy_dir(POLICIES)}
    acme = loaded["peer/acme"]
    assert isinstance(acme, PeerPolicy)
    ic = acme.disclose.interconnect
    assert ic is not None and ic.identifiers == "shared"
    assert dict(ic.round) == {"utilisation_pct": 1, "delay_ms": 2, "loss_pct": 3}
    assert acme.disclose.alarm is not None
    assert isinstance(acme.disclose.alarm.text, TextTemplate)
    northwind = loaded["peer/northwind"]
    assert isinstance(northwind, PeerPolicy)
    assert northwind.disclose.alarm is None and northwind.disclose.maintenance is None
    assert northwind.disclose.interconnect is not None
    assert northwind.disclose.interconnect.identifiers == "pseudonym"  # the default


def test_version_is_digest_of_text() -> None:
    a = parse_policy(PEER_OK)
    b = parse_policy(PEER_OK + "# a comment changes the version\n")
    assert a.digest != b.digest
    assert a.version == a.digest[:12]
    assert parse_policy(PEER_OK).version == a.version


# -- what is refused, and where -------------------------------------------------------------


def test_yaml_syntax_error_has_position() -> None:
    where, message = only("audience: peer/acme\ndisclose:\n  interconnect: {fields: [id\n")
    assert where == "p.yaml:4:1"
    assert message.startswith("YAML syntax error")


def test_yaml_syntax_error_bad_indentation() -> None:
    where, message = only("audience: peer/acme\n  disclose: x\n")
    assert where.startswith("p.yaml:2:")
    assert "YAML syntax error" in message


def test_unknown_top_level_key() -> None:
    where, message = only(
        "audience: peer/acme\ncolour: red\ndisclose:\n  interconnect:\n    fields: [id]\n"
    )
    assert where == "p.yaml:2:1"
    assert message.startswith("colour: unknown key")


def test_unknown_key_under_rule() -> None:
    where, message = only(PEER_OK + "    colour: red\n")
    assert where == "p.yaml:5:5"
    assert message.startswith("disclose.interconnect.colour: unknown key")


def test_unknown_field_name_block_list() -> None:
    text = (
        "audience: peer/acme\ndisclose:\n  interconnect:\n    fields:\n      - id\n"
        "      - router_name\n"
    )
    where, message = only(text)
    assert where == "p.yaml:6:9"
    assert message.startswith("disclose.interconnect.fields[1]: 'router_name' is not allowed")
    assert "'status'" in message  # the allowed names are listed


def test_unknown_field_name_flow_list() -> None:
    text = "audience: peer/acme\ndisclose:\n  alarm:\n    fields: [id, severity, node_name]\n"
    where, message = only(text)
    assert where == "p.yaml:4:28"
    assert message.startswith("disclose.alarm.fields[2]: 'node_name' is not allowed")


def test_fields_wrong_type() -> None:
    where, message = only("audience: peer/acme\ndisclose:\n  interconnect:\n    fields: 3\n")
    assert where == "p.yaml:4:5"
    assert message.startswith("disclose.interconnect.fields:")
    assert "list" in message


@pytest.mark.parametrize("audience", ["peer/", "admin/x", "peer", "customer/", "peer/a b"])
def test_bad_audience(audience: str) -> None:
    problems = refused(f"audience: '{audience}'\ndisclose:\n  interconnect:\n    fields: [id]\n")
    assert any(p.where == "p.yaml:1:1" and p.message.startswith("audience:") for p in problems)


def test_bad_audience_message_explains_form() -> None:
    _, message = only("audience: peer/\ndisclose:\n  interconnect:\n    fields: [id]\n")
    assert "'peer/<name>'" in message


def test_customer_kind_in_peer_policy_is_unknown_key() -> None:
    where, message = only("audience: peer/acme\ndisclose:\n  service:\n    fields: [id]\n")
    assert where == "p.yaml:3:3"
    assert message.startswith("disclose.service: unknown key")


def test_peer_kind_in_customer_policy_is_unknown_key() -> None:
    where, message = only("audience: customer/x\ndisclose:\n  interconnect:\n    fields: [id]\n")
    assert where == "p.yaml:3:3"
    assert message.startswith("disclose.interconnect: unknown key")


def test_duplicate_key() -> None:
    text = PEER_OK + "  interconnect:\n    fields: [status]\n"
    where, message = only(text)
    assert where == "p.yaml:5:3"
    assert "duplicate key 'interconnect'" in message


def test_duplicate_top_level_key() -> None:
    where, message = only("audience: peer/acme\naudience: peer/evil\n" + PEER_OK.split("\n", 1)[1])
    assert where == "p.yaml:2:1"
    assert "duplicate key 'audience'" in message


def test_text_in_fields_with_text_drop() -> None:
    where, message = only("audience: peer/acme\ndisclose:\n  alarm:\n    fields: [id, text]\n")
    assert where == "p.yaml:3:3"
    assert message.startswith("disclose.alarm: 'text' is listed in fields but text is 'drop'")


def test_template_naming_undisclosed_field() -> None:
    text = (
        "audience: peer/acme\ndisclose:\n  alarm:\n    fields: [id, severity, text]\n"
        "    text: {template: '{severity} on {resource}'}\n"
    )
    where, message = only(text)
    assert where == "p.yaml:3:3"
    assert message.startswith("disclose.alarm: text template uses {resource}")


@pytest.mark.parametrize("template", ["{text}", "{}", "{0}", "{severity.__class__}"])
def test_template_cannot_reach_beyond_fields(template: str) -> None:
    text = (
        "audience: peer/acme\ndisclose:\n  alarm:\n    fields: [id, severity, text]\n"
        f"    text: {{template: '{template}'}}\n"
    )
    where, message = only(text)
    assert where == "p.yaml:3:3"
    assert "text template uses" in message


@pytest.mark.parametrize("template", ["{severity:{resource}}", "{severity:d}", "{severity!z}"])
def test_template_that_cannot_render_is_refused(template: str) -> None:
    text = (
        "audience: peer/acme\ndisclose:\n  alarm:\n    fields: [id, severity, text]\n"
        f"    text: {{template: '{template}'}}\n"
    )
    where, message = only(text)
    assert where == "p.yaml:3:3"
    assert message.startswith("disclose.alarm: text template placeholder {severity")


@pytest.mark.parametrize("digits", [7, -1])
def test_round_digits_out_of_range(digits: int) -> None:
    text = (
        PEER_OK.replace("[id, status]", "[id, delay_ms]") + f"    round: {{delay_ms: {digits}}}\n"
    )
    where, message = only(text)
    assert where == "p.yaml:5:5"
    assert message.startswith("disclose.interconnect.round:")
    assert "0 to 6" in message


def test_round_unknown_numeric_field() -> None:
    problems = refused(PEER_OK + "    round: {status: 1}\n")
    assert any(p.where.startswith("p.yaml:5:") and "round" in p.message for p in problems)


def test_empty_fields_list() -> None:
    where, message = only("audience: peer/acme\ndisclose:\n  interconnect:\n    fields: []\n")
    assert where == "p.yaml:4:5"
    assert message.startswith("disclose.interconnect.fields:")
    assert "at least 1" in message


def test_fields_listed_twice() -> None:
    where, message = only(PEER_OK.replace("[id, status]", "[id, status, id]"))
    assert where == "p.yaml:3:3"
    assert "fields listed twice: id" in message


def test_not_a_mapping() -> None:
    assert only("- audience\n")[0] == "p.yaml:1:1"


def test_every_problem_reported_together() -> None:
    text = "audience: peer/acme\ncolour: red\ndisclose:\n  interconnect:\n    fields: [id, x]\n"
    problems = refused(text)
    wheres = {p.where for p in problems}
    assert {"p.yaml:2:1", "p.yaml:5:18"} <= wheres


def test_source_name_used_in_positions() -> None:
    problems = refused("audience: peer/acme\ncolour: red\n", source="policies/x.yaml")
    assert problems and all(p.where.startswith("policies/x.yaml:") for p in problems)
    assert any(p.message.startswith("disclose:") for p in problems)  # required key missing


# -- directories -----------------------------------------------------------------------------


def test_same_audience_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PEER_OK)
    (tmp_path / "b.yaml").write_text(PEER_OK.replace("[id, status]", "[id]"))
    with pytest.raises(PolicyError) as info:
        load_policy_dir(tmp_path)
    (problem,) = info.value.problems
    assert problem.where == f"{tmp_path / 'b.yaml'}:1:1"
    assert "peer/acme" in problem.message and str(tmp_path / "a.yaml") in problem.message


def test_directory_reports_problems_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(PEER_OK)
    (tmp_path / "bad1.yaml").write_text("audience: peer/x\ncolour: red\n")
    (tmp_path / "bad2.yml").write_text("audience: [\n")
    with pytest.raises(PolicyError) as info:
        load_policy_dir(tmp_path)
    files = {p.where.rsplit(":", 2)[0] for p in info.value.problems}
    assert files == {str(tmp_path / "bad1.yaml"), str(tmp_path / "bad2.yml")}


def test_directory_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PEER_OK)
    (tmp_path / "notes.txt").write_text("colour: red\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(PEER_OK)
    assert [p.policy.audience for p in load_policy_dir(tmp_path)] == ["peer/acme"]
