"""The command line as a new user meets it: --version, one-file checks, typos with lines."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from gateway.cli import build_parser, main
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


def _options(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("demarc",)
) -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action]]:
    """Every argument of every command, with the parser that renders its help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            names = action.option_strings or [action.dest]
            yield " ".join((*path, *names)), parser, action


FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction)


def test_every_option_says_its_default_in_its_help() -> None:
    problems, checked = [], 0
    for where, parser, action in _options(build_parser()):
        if isinstance(action, FLAGS):
            if not action.help:
                problems.append(f"{where}: no help")
            continue  # a flag's default is off
        if action.required or (not action.option_strings and action.nargs is None):
            continue  # must be given: it has no default
        checked += 1
        # the help as `demarc … --help` prints it, %(default)s expanded
        expanded = parser._get_formatter()._expand_help(action) if action.help else ""
        shown = " ".join(expanded.split())
        if "default" not in shown:
            problems.append(f"{where}: help {shown!r} does not say its default")
            continue
        values = action.default if isinstance(action.default, list) else [action.default]
        missing = [str(v) for v in values if v is not None and str(v) not in shown]
        if missing:
            problems.append(f"{where}: help {shown!r} does not show the default {missing}")
    assert checked > 30, checked  # the walk found the commands
    assert not problems, "\n".join(problems)
