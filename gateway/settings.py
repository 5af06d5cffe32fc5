"""Settings: explicit arguments over the environment (``DEMARC_*``) over an optional YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.errors import ConfigError
from gateway.model import Severity
from gateway.model.x733 import canonical_cause

# the YAML file's values while load_settings builds a Settings: a source below the environment
_FILE_VALUES: ContextVar[Mapping[str, Any]] = ContextVar(
    "demarc_file_settings", default=MappingProxyType({})
)


class _FileSource(PydanticBaseSettingsSource):
    """The settings file, as a source of its own so the environment can override it."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ below returns every value at once

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get())


class Listener(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class AlertLabels(BaseModel):
    """Which Alertmanager labels name the resource an alert is on (a convention of your rules)."""

    model_config = ConfigDict(extra="forbid")

    node: str = "node"
    tp: str = "interface"
    link: str = "link"
    service: str = "service"
    severity: str = "severity"
    probable_cause: str = "alertname"
    severities: dict[str, Severity] = Field(
        default_factory=dict,
        description="severity label value (any case) → X.733 severity; added to the defaults",
    )
    default_severity: Severity = Severity.INDETERMINATE
    probable_causes: dict[str, str] = Field(
        default_factory=dict,
        description="probable-cause label value (an alert name) → an X.733 probable cause",
    )

    @field_validator("probable_causes")
    @classmethod
    def _known_causes(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(v for v in value.values() if canonical_cause(v) is None)
        if wrong:
            raise ValueError(
                f"{', '.join(map(repr, wrong))} are not X.733 probable causes "
                "(gateway/model/x733.py lists them)"
            )
        return {k: str(canonical_cause(v)) for k, v in value.items()}


class Retention(BaseModel):
    """What is kept, and for how long (README, "Retention")."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run retention passes; off keeps everything")
    interval_s: float = Field(600.0, ge=1, le=86400, description="time between passes")
    cleared_alarm_min_hours: int = Field(
        0,
        ge=0,
        le=100_000,
        description="keep cleared alarms at least this long; they are always kept as long "
        "as the longest history_hours of any active policy",
    )
    commit_log_days: float = Field(7.0, gt=0, description="entries of the commit log")
    audit_disclosure_days: float = Field(
        7.0, gt=0, description="per-request disclosure records, before hourly summaries"
    )
    audit_summary_days: float = Field(400.0, gt=0, description="hourly disclosure summaries")
    performance_5m_days: float = Field(
        7.0, gt=0, le=400, description="5-minute buckets of interconnect measurements"
    )
    performance_1h_days: float = Field(
        90.0, gt=0, le=400, description="hourly buckets of interconnect measurements"
    )
    audit_archive_dir: Path | None = Field(
        None, description="JSON-lines archive of rotated records; default <data_dir>/audit-archive"
    )


class Limits(BaseModel):
    """What one client may take: connections, time, header bytes, requests (README: Limits)."""

    model_config = ConfigDict(extra="forbid")

    handshake_timeout_s: float = Field(10.0, gt=0, le=300)
    header_timeout_s: float = Field(10.0, gt=0, le=300, description="request line and headers")
    body_timeout_s: float = Field(60.0, gt=0, le=3600, description="a whole request body")
    keepalive_timeout_s: float = Field(30.0, gt=0, le=3600, description="idle between requests")
    max_header_bytes: int = Field(32 * 1024, ge=1024, le=1024 * 1024)
    max_connections: int = Field(1000, ge=1, description="per listener")
    max_connections_per_address: int = Field(64, ge=1, description="per listener")
    rate_per_s: float = Field(100.0, gt=0, description="requests per second per principal")
    rate_burst: float = Field(200.0, ge=1, description="requests a principal may send at once")
    not_modified_cost: float = Field(
        0.1, ge=0, le=1, description="what a 304 costs of a request's token"
    )


class LongPoll(BaseModel):
    """Held view requests (``?wait=`` / ``Prefer: wait=``): README, "Long-poll"."""

    model_config = ConfigDict(extra="forbid")

    max_wait_s: float = Field(
        60.0, gt=0, le=60, description="the longest a request is held; longer asks are cut to it"
    )
    max_waiters_per_principal: int = Field(
        200, ge=1, le=100_000, description="requests one principal may have held at once"
    )


class Events(BaseModel):
    """The change feed (``GET /v1/events``): README, "Change feed"."""

    model_config = ConfigDict(extra="forbid")

    retention_hours: float = Field(
        72.0, gt=0, le=24 * 400, description="events older than this are deleted"
    )
    max_per_audience: int = Field(
        100_000, ge=100, description="events kept per audience at most (the oldest go first)"
    )


class Hub(BaseModel):
    """Webhook subscriptions (``POST /v1/hub``): README, "Webhooks"."""

    model_config = ConfigDict(extra="forbid")

    callbacks: dict[str, list[str]] = Field(
        default_factory=dict,
        description="principal → the callback URLs it may subscribe (https URL prefixes); "
        "a principal not named here can subscribe nothing",
    )
    allow_networks: list[str] = Field(
        default_factory=list,
        description="loopback, link-local or private networks (CIDRs) a callback may reach "
        "all the same; every other such address is refused",
    )
    client_cert: Path | None = Field(None, description="the gateway's client certificate (PEM)")
    client_key: Path | None = Field(None, description="its private key (PEM)")
    ca: Path | None = Field(
        None, description="CA bundle to verify receivers with; default: the system's"
    )
    max_subscriptions: int = Field(10, ge=1, le=1000, description="per principal")
    max_failures: int = Field(
        10, ge=1, le=1000, description="failed attempts in a row before a subscription is suspended"
    )
    retry_base_s: float = Field(1.0, gt=0, le=3600, description="first retry delay (doubles)")
    retry_max_s: float = Field(300.0, gt=0, le=86400, description="longest retry delay")
    timeout_s: float = Field(10.0, gt=0, le=120, description="one delivery attempt")


class Tickets(BaseModel):
    """What a peer or customer may put into trouble tickets (README: Trouble tickets)."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_open: int = Field(
        100, ge=1, le=100_000, description="tickets one principal may have open at once"
    )
    max_notes: int = Field(200, ge=1, le=10_000, description="notes a ticket may hold")
    writes_per_min: float = Field(
        30.0, gt=0, description="ticket writes (open, patch, actions) per principal per minute"
    )
    write_burst: float = Field(10.0, ge=1, description="ticket writes a principal may send at once")
    retention_days: float = Field(
        400.0, gt=0, description="closed, cancelled and rejected tickets are kept this long"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEMARC_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path(".demarc")
    database: Path | None = Field(None, description="SQLite file; default <data_dir>/demarc.db")
    policies_dir: Path = Path("policies")
    principals_file: Path | None = Field(None, description="default <data_dir>/principals.yaml")
    pki_dir: Path | None = Field(None, description="default <data_dir>/pki")
    trust_domain: str = "demarc.example"
    tls_cert: Path | None = None  # default <pki_dir>/server.crt
    tls_key: Path | None = None  # default <pki_dir>/server.key
    tls_ca: Path | None = None  # default <pki_dir>/ca.crt
    tls_crls: list[Path] | None = Field(None, description="CRL files; default [<pki_dir>/crl.pem]")
    tls_crl_check: bool = Field(True, description="refuse clients whose CA has no valid CRL")
    crl_warning_days: float = Field(
        2.0, ge=0, le=365, description="log a warning this long before a CRL's nextUpdate"
    )
    tls_reload_interval_s: float = Field(
        2.0, ge=0.1, le=3600, description="how often TLS files are checked for changes"
    )
    public: Listener = Listener(port=8443)
    internal: Listener = Listener(port=9443)
    ops: Listener | None = Field(
        Listener(port=9464),
        description="/metrics, /livez, /readyz over plain HTTP without client certificates; "
        "null turns it off. Keep it on loopback or a management network",
    )
    access_log: bool = Field(
        True, description="one JSON log line per request (refusals are logged regardless)"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="socket peers (addresses or CIDRs) whose x-forwarded-client-cert is honoured",
    )
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    limits: Limits = Limits()
    secret_file: Path | None = Field(
        None, description="pseudonym master key; default <data_dir>/secret"
    )
    alert_labels: AlertLabels = AlertLabels()
    refresh_debounce_s: float = Field(0.02, ge=0, le=10)
    network_holddown_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="peer topology views follow internal link changes at most this often "
        "(the first change after a quiet hold-down at once), and at least 4 times as long as "
        "rendering them took last; 0: after every change",
    )
    retention: Retention = Retention()
    tickets: Tickets = Tickets()
    accept_data_loss: bool = Field(
        False,
        description="start even when the database is below the last acknowledged revision",
    )
    leak_guard: bool = Field(
        True, description="scan every public body for internal terms before it is sent"
    )
    longpoll: LongPoll = LongPoll()
    events: Events = Events()
    hub: Hub = Hub()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # arguments (a command's flags, a test's paths) are the most specific, so they win;
        # the environment overrides the file, as operators expect from containers
        return init_settings, env_settings, _FileSource(settings_cls)

    # resolved paths -----------------------------------------------------------------------

    @property
    def database_path(self) -> Path:
        return self.database or self.data_dir / "demarc.db"

    @property
    def principals_path(self) -> Path:
        return self.principals_file or self.data_dir / "principals.yaml"

    @property
    def pki_path(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"

    @property
    def cert_path(self) -> Path:
        return self.tls_cert or self.pki_path / "server.crt"

    @property
    def key_path(self) -> Path:
        return self.tls_key or self.pki_path / "server.key"

    @property
    def ca_path(self) -> Path:
        return self.tls_ca or self.pki_path / "ca.crt"

    @property
    def crl_paths(self) -> list[Path]:
        return self.tls_crls if self.tls_crls is not None else [self.pki_path / "crl.pem"]

    @property
    def audit_archive_path(self) -> Path:
        return self.retention.audit_archive_dir or self.data_dir / "audit-archive"

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.data_dir / "secret"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``config_file`` (YAML, unknown keys are errors), the environment over it,
    and ``overrides`` (explicit arguments) over both."""
    values: dict[str, Any] = {}
    text = ""
    if config_file is not None:
        try:
            text = config_file.read_text(encoding="utf-8")
            loaded = yaml.safe_load(text) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: expected a mapping of settings")
        values.update(loaded)
    token = _FILE_VALUES.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        sources = (
            f"{config_file}, DEMARC_* or arguments" if config_file else "DEMARC_* or arguments"
        )
        raise ConfigError(
            f"invalid settings (from {sources}): {_problems(exc, config_file, text)}"
        ) from None
    finally:
        _FILE_VALUES.reset(token)


def _problems(exc: ValidationError, config_file: Path | None, text: str) -> str:
    """``public.port: Input should be ...; colour: unknown setting`` — each problem with its key,
    and the file and line where the file holds that key."""
    out = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(settings)"
        message = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
        line = _line(text, error["loc"]) if text else "?"
        where = f"{config_file}:{line}: " if config_file is not None and line != "?" else ""
        out.append(f"{where}{key}: {message}")
    return "; ".join(out)


def _line(text: str, loc: tuple[int | str, ...]) -> str:
    """The line of the deepest key of ``loc`` found in the YAML text, for a person to fix;
    "?" when the value came from elsewhere (the environment, a default)."""
    node = yaml.compose(text)
    line = "?"
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next((kv for kv in node.value if kv[0].value == part), None)
        if match is None:
            break
        line, node = str(match[0].start_mark.line + 1), match[1]
    return line
