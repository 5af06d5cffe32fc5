"""``demarc policy test|preview|diff``: from files, what the admin API does, for CI and review."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import yaml

from gateway.cli import main
from gateway.demo.network import write_demo
from tests.policyharness import POLICIES, LocalGateway, local_settings


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_the_sample_policies_pass_their_test_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.strip().endswith("passed, 0 failed")
    assert int(out.strip().splitlines()[-1].split()[0]) >= 6


def test_a_policy_that_leaks_fails_its_test_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = _copy(tmp_path)
    doc = yaml.safe_load((policies / "peer-acme.yaml").read_text())
    doc["disclose"]["alarm"]["fields"].append("specific_problem")
    (policies / "peer-acme.yaml").write_text(yaml.safe_dump(doc))
    assert main(["policy", "test", str(policies)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "must not see 'Pre-FEC BER above threshold', found in alarms" in out


def test_a_run_that_finds_no_case_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = _copy(tmp_path)
    shutil.rmtree(policies / "tests")
    assert main(["policy", "test", str(policies)]) == 1
    assert "a run that finds no test fails" in capsys.readouterr().err


def test_a_broken_case_file_is_a_failure_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = _copy(tmp_path)
    (policies / "tests" / "broken.yaml").write_text("cases:\n  - name: x\n    nwo: 1\n")
    assert main(["policy", "test", str(policies)]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml: $.cases[0].nwo: Extra inputs are not permitted" in out


def test_preview_renders_an_audience_from_a_data_directory(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    write_demo(tmp_path / "data", datetime.now(UTC))
    args = ["policy", "preview", "--audience", "peer/acme", "--data", str(tmp_path / "data")]
    assert main(args) == 0
    body = msgspec.json.decode(capsysbinary.readouterr().out)
    assert body["audience"] == "peer/acme" and "interconnects" in body["views"]
    assert {i["id"] for i in body["views"]["interconnects"]["items"]} >= {"AMS-PNI-ACME-01"}
    assert "pseudonyms made with a preview key" in body["note"]


def test_preview_from_a_data_directory_with_bad_json_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "services.json").write_text("{not json", encoding="utf-8")
    args = ["policy", "preview", "--audience", "peer/acme", "--data", str(tmp_path)]
    assert main(args) == 2
    assert f"demarc: {tmp_path / 'services.json'}: not JSON: " in capsys.readouterr().err


def test_a_case_naming_a_missing_dataset_fails_with_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policies = _copy(tmp_path)
    case = (
        "cases:\n  - name: x\n    now: 2026-01-01T00:00:00Z\n"
        "    data: nowhere\n    expect: {peer/acme: {}}\n"
    )
    (policies / "tests" / "missing.yaml").write_text(case)
    assert main(["policy", "test", str(policies)]) == 1
    out = capsys.readouterr().out
    assert "no dataset 'nowhere' in this file's datasets nor at" in out


def test_preview_of_an_audience_without_a_policy_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "preview", "--audience", "peer/nobody"]) == 1
    assert "no policy in policies serves peer/nobody" in capsys.readouterr().err


def test_diff_against_a_directory_shows_what_widens(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    policies = _copy(tmp_path)
    doc = yaml.safe_load((policies / "peer-globalnet.yaml").read_text())
    doc["disclose"]["alarm"]["fields"].append("probable_cause")
    (policies / "peer-globalnet.yaml").write_text(yaml.safe_dump(doc))
    args = ["policy", "diff", "--policies", str(policies), "--against", str(POLICIES)]
    assert main(args) == 0
    body = msgspec.json.decode(capsysbinary.readouterr().out)
    (changed,) = body["changed"]
    assert changed["audience"] == "peer/globalnet" and body["widening"] is True
    assert changed["reasons"][0] == "alarm fields: +probable_cause"
    assert changed["audiences"][0]["views"]["alarms"]["fields"]["published"] == ["probable_cause"]
    assert main([*args, "--fail-on-widening"]) == 3


def test_diff_against_the_active_versions_in_the_database(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    settings = local_settings(tmp_path / "gw")
    LocalGateway(settings).start(feed=False).close()
    config = tmp_path / "demarc.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir)}))
    args = ["policy", "diff", "--policies", str(POLICIES), "--active", "--config", str(config)]
    assert main(args) == 0
    body = msgspec.json.decode(capsysbinary.readouterr().out)
    assert body["changed"] == [] and body["widening"] is False
    assert body["against"] == "active versions"
