"""Settings on their own: arguments over DEMARC_* over the file; unknown keys refused; types."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import Settings, load_settings


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demarc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_suite_runs_with_no_demarc_setting_in_its_environment() -> None:
    # conftest's session fixture removed them: a developer's shell cannot reach real data
    assert [n for n in os.environ if n.startswith("DEMARC_") and n != "DEMARC_UPDATE_GOLDEN"] == []


def test_defaults_without_file_environment_or_arguments() -> None:
    settings = load_settings()
    assert settings.data_dir == Path(".demarc")
    assert settings.database_path == Path(".demarc/demarc.db")
    assert settings.public.port == 8443 and settings.internal.port == 9443
    assert settings.leak_guard is True and settings.tls_crl_check is True


def test_the_file_sets_values_and_derived_paths_follow(tmp_path: Path) -> None:
    path = _file(tmp_path, "data_dir: /srv/demarc\npublic: {host: 0.0.0.0, port: 443}\n")
    settings = load_settings(path)
    assert settings.data_dir == Path("/srv/demarc")
    assert settings.principals_path == Path("/srv/demarc/principals.yaml")
    assert settings.ca_path == Path("/srv/demarc/pki/ca.crt")
    assert (settings.public.host, settings.public.port) == ("0.0.0.0", 443)


def test_the_environment_overrides_the_file_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(
        tmp_path, "data_dir: /file\ntrust_domain: file.example\npublic: {host: h, port: 1}\n"
    )
    monkeypatch.setenv("DEMARC_DATA_DIR", "/env")
    monkeypatch.setenv("DEMARC_PUBLIC__PORT", "7443")
    settings = load_settings(path)
    assert settings.data_dir == Path("/env")
    assert settings.trust_domain == "file.example"  # not in the environment: the file's
    assert (settings.public.host, settings.public.port) == ("h", 7443)  # nested keys merge


def test_explicit_arguments_win_over_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, "data_dir: /file\nmax_body_bytes: 4096\n")
    monkeypatch.setenv("DEMARC_DATA_DIR", "/env")
    monkeypatch.setenv("DEMARC_MAX_BODY_BYTES", "8192")
    settings = load_settings(path, data_dir=tmp_path / "arg")
    assert settings.data_dir == tmp_path / "arg"
    assert settings.max_body_bytes == 8192  # no argument for it: the environment's
    assert load_settings(None, data_dir=tmp_path / "arg").data_dir == tmp_path / "arg"


def test_an_unknown_key_in_the_file_is_refused_and_named(tmp_path: Path) -> None:
    path = _file(tmp_path, "data_dir: /x\ncolour: blue\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "colour: unknown setting" in caught.value.message
    assert str(path) in caught.value.message


def test_an_unknown_nested_key_or_argument_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"public\.colour: unknown setting"):
        load_settings(_file(tmp_path, "public: {port: 1, colour: blue}\n"))
    with pytest.raises(ConfigError, match="colour: unknown setting"):
        load_settings(None, colour="blue")


def test_a_value_of_the_wrong_type_or_range_is_refused_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"public\.port: "):
        load_settings(_file(tmp_path, "public: {port: 70000}\n"))
    with pytest.raises(ConfigError, match="max_body_bytes: "):
        load_settings(None, max_body_bytes=10)  # below the 1 KiB floor
    monkeypatch.setenv("DEMARC_LEAK_GUARD", "perhaps")
    with pytest.raises(ConfigError, match="leak_guard: "):
        load_settings()


def test_types_are_coerced_from_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMARC_LEAK_GUARD", "false")
    monkeypatch.setenv("DEMARC_TLS_CRLS", '["/a.pem", "/b.pem"]')
    settings = load_settings(_file(tmp_path, "refresh_debounce_s: '0.5'\n"))
    assert settings.leak_guard is False
    assert settings.crl_paths == [Path("/a.pem"), Path("/b.pem")]
    assert settings.refresh_debounce_s == 0.5


def test_a_file_that_is_not_a_mapping_or_not_readable_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(_file(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml")


def test_loading_leaves_no_file_values_behind_for_the_next_load(tmp_path: Path) -> None:
    load_settings(_file(tmp_path, "trust_domain: once.example\n"))
    assert load_settings().trust_domain == Settings().trust_domain == "demarc.example"
