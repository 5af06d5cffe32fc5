"""The command line as a new user meets it: --version, one-file checks, typos with lines."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.errors import ConfigError
from gateway.security.identity import load_registry
from gateway.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"demarc {version('demarc')}"


def test_policy_check_takes_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(ROOT / "policies" / "peer-acme.yaml")]) == 0
    assert "peer-acme.yaml: ok (peer/acme" in capsys.readouterr().out
    bad = tmp_path / "typo.yaml"
    bad.write_text("audience: peer/acme\ndisclose:\n  interconect: {}\n", encoding="utf-8")
    assert main(["policy", "check", str(bad)]) == 1
    assert f"{bad}:3:3: disclose.interconect: unknown key" in capsys.readouterr().err


def test_a_typo_in_the_settings_file_is_reported_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "demarc.yaml"
    config.write_text("data_dir: /tmp/x\npublic:\n  port: 8443\n  hots: 0.0.0.0\n",
                      encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert f"{config}:4: public.hots: unknown setting" in str(error.value)


def test_principals_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "principals.yaml"
    registry.write_text("principals: [staff/alice]\n", encoding="utf-8")
    at = ["--file", str(registry)]
    assert main(["principals", "add", "peer/acme", *at, "--pin", "AB" * 32]) == 0
    assert main(["principals", "add", "staff/bob", *at]) == 0
    assert main(["principals", "add", "staff/bob", *at]) == 2  # already there: one line
    assert main(["principals", "add", "boss/carol", *at]) == 2  # not a role
    capsys.readouterr()
    assert main(["principals", "list", *at]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["peer/acme", "staff/alice", "staff/bob"]
    assert main(["principals", "remove", "staff/alice", *at]) == 0
    assert main(["principals", "remove", "staff/alice", *at]) == 2
    written = load_registry(registry, "demarc.example")
    assert [p.id for p in written.principals] == ["peer/acme", "staff/bob"]
    assert "ab" * 32 in registry.read_text(encoding="utf-8")
