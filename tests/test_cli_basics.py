"""The command line as a new user meets it: --version, one-file checks, typos with lines."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.errors import ConfigError
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
    assert f"{config}:4: public.hots: Extra inputs are not permitted" in str(error.value)
