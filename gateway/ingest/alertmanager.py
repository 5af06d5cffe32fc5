"""Prometheus Alertmanager webhook payloads (version 4) as alarms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gateway.errors import ConfigError, InvalidInput, Problem
from gateway.ingest._validation import MAX_ITEMS, Id, Timestamp, validate
from gateway.model import Alarm, ResourceRef, Severity, UpsertAlarms
from gateway.model.x733 import UNKNOWN, canonical_cause

DEFAULT_SEVERITIES: Mapping[str, Severity] = MappingProxyType({
    "critical": Severity.CRITICAL, "page": Severity.CRITICAL, "p1": Severity.CRITICAL,
    "emergency": Severity.CRITICAL, "fatal": Severity.CRITICAL,
    "major": Severity.MAJOR, "error": Severity.MAJOR, "high": Severity.MAJOR, "p2": Severity.MAJOR,
    "minor": Severity.MINOR, "medium": Severity.MINOR, "p3": Severity.MINOR,
    "warning": Severity.WARNING, "warn": Severity.WARNING, "low": Severity.WARNING,
    "p4": Severity.WARNING,
    "info": Severity.INDETERMINATE, "informational": Severity.INDETERMINATE,
    "none": Severity.INDETERMINATE, "p5": Severity.INDETERMINATE,
})  # fmt: skip
"""Common severity label values (looked up lower-cased) and their X.733 severities."""

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero time, which Alertmanager sends for "no end time"."""


@dataclass(frozen=True)
class AlertLabelMap:
    """Which alert labels name the resource, the severity and the probable cause.

    Defaults: ``node``, ``interface`` (the termination point on that node), ``link``,
    ``service``, ``severity`` and ``alertname``. These are conventions of the operator's alert
    rules, so each can be renamed. The resource is the link if its label is present, else the
    node (with the termination point, if that label is present too), else the service, else
    none. Severity label values are looked up lower-cased in ``severities``; a missing label or
    a value not listed there gives ``default_severity`` (and the value is counted as unmapped).

    The probable cause is never the raw label value, which is the operator's own alert name
    (``PNIDown_fra1`` names a site): it is ``probable_causes[value]`` when mapped, else the
    value itself when it is an X.733 probable cause (any case), else ``unknown`` (counted).
    """

    node: str = "node"
    tp: str = "interface"
    link: str = "link"
    service: str = "service"
    severity: str = "severity"
    probable_cause: str = "alertname"
    # read-only and shared; a Mapping is unhashable, so it takes no part in hash()
    severities: Mapping[str, Severity] = field(
        default_factory=lambda: DEFAULT_SEVERITIES, hash=False
    )
    default_severity: Severity = Severity.INDETERMINATE
    probable_causes: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        wrong = sorted(v for v in self.probable_causes.values() if canonical_cause(v) is None)
        if wrong:
            raise ConfigError(
                f"alert_labels.probable_causes maps to {', '.join(map(repr, wrong))}, which are "
                "not X.733 probable causes (gateway/model/x733.py lists them)"
            )

    def resource(self, labels: Mapping[str, str]) -> ResourceRef | None:
        if link := labels.get(self.link):
            return ResourceRef(link=link)
        if node := labels.get(self.node):
            return ResourceRef(node=node, tp=labels.get(self.tp) or None)
        if service := labels.get(self.service):
            return ResourceRef(service=service)
        return None

    def severity_of(self, labels: Mapping[str, str]) -> tuple[Severity, str | None]:
        """The severity, and the label value when the table does not map it."""
        value = labels.get(self.severity)
        if value is None:
            return self.default_severity, None
        mapped = self.severities.get(value.lower())
        return (self.default_severity, value) if mapped is None else (mapped, None)

    def cause_of(self, labels: Mapping[str, str]) -> tuple[str | None, str | None]:
        """The probable cause from the controlled vocabulary, and the label value when it maps
        to nothing there."""
        value = labels.get(self.probable_cause)
        if not value:
            return None, None
        mapped = self.probable_causes.get(value)
        cause = canonical_cause(mapped if mapped is not None else value)
        return (UNKNOWN, value) if cause is None else (cause, None)


@dataclass
class AlertStats:
    """What staff should know about the webhooks received: alerts Alertmanager dropped, and
    label values the severity and cause tables do not map (counts per value)."""

    truncated_alerts: int = 0
    unmapped_severities: Counter[str] = field(default_factory=Counter)
    unmapped_causes: Counter[str] = field(default_factory=Counter)

    def add(self, other: AlertStats) -> None:
        self.truncated_alerts += other.truncated_alerts
        self.unmapped_severities.update(other.unmapped_severities)
        self.unmapped_causes.update(other.unmapped_causes)


DEFAULT_LABELS = AlertLabelMap()


class _Lenient(BaseModel):
    # unknown keys are ignored: Alertmanager adds fields from release to release
    model_config = ConfigDict(strict=True, frozen=True)


class AlertIn(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: Timestamp = Field(alias="startsAt")
    ends_at: Timestamp = Field(alias="endsAt")  # always sent; the zero time if none
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: Id

    @field_validator("ends_at")
    @classmethod
    def _resolved_has_end(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        if info.data.get("status") != "resolved":
            return ends_at
        if ends_at == ZERO_TIME:
            raise ValueError("a resolved alert needs endsAt, when it ended; got the zero time")
        starts_at = info.data.get("starts_at")
        if starts_at is not None and ends_at < starts_at:
            raise ValueError("endsAt is before startsAt; expected the time the alert ended")
        return ends_at


class AlertmanagerWebhook(_Lenient):
    """An Alertmanager webhook payload, version 4."""

    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    external_url: str | None = Field(default=None, alias="externalURL")
    # alerts Alertmanager left out of this notification (max_alerts in its webhook config)
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    alerts: list[AlertIn] = Field(max_length=MAX_ITEMS)


def _text(alert: AlertIn, external_url: str | None) -> str | None:
    parts = [alert.annotations.get(k) for k in ("summary", "description")]
    text = "\n".join(p for p in parts if p)
    if not text:
        return None
    # Alertmanager URLs and scrape targets are internal; rules often template them into text
    instance = alert.labels.get("instance", "")
    host = instance.rsplit(":", 1)[0].strip("[]") if ":" in instance else ""
    secrets = {s for s in (external_url, alert.generator_url, instance, host) if s}
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: host is in instance
        text = text.replace(secret, "[redacted]")
    return text


def _alarm(
    alert: AlertIn, external_url: str | None, labels: AlertLabelMap, stats: AlertStats
) -> Alarm:
    severity, odd_severity = labels.severity_of(alert.labels)
    cause, odd_cause = labels.cause_of(alert.labels)
    if odd_severity is not None:
        stats.unmapped_severities[odd_severity] += 1
    if odd_cause is not None:
        stats.unmapped_causes[odd_cause] += 1
    return Alarm(
        # one alarm per occurrence: an alert that fires again after it resolved has a new
        # startsAt, and the earlier occurrence stays in the history as it was
        alarm_id=f"am-{alert.fingerprint}-{alert.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        resource=labels.resource(alert.labels),
        severity=severity,
        raised_at=alert.starts_at,
        cleared_at=alert.ends_at if alert.status == "resolved" else None,
        probable_cause=cause,
        # the alert name is the operator's own wording: kept in labels, never a published field
        specific_problem=None,
        text=_text(alert, external_url),
        source="alertmanager",
        labels=tuple(sorted(alert.labels.items())),
    )


def parse_alertmanager(doc: object, labels: AlertLabelMap = DEFAULT_LABELS) -> UpsertAlarms:
    """An Alertmanager webhook payload as alarms ``am-<fingerprint>-<startsAt>``.

    Raises :class:`InvalidInput` listing every problem, each at its JSON path; a version other
    than "4" is reported alone, since the rest of such a payload cannot be interpreted.
    """
    return parse_alertmanager_report(doc, labels)[0]


def parse_alertmanager_report(
    doc: object, labels: AlertLabelMap = DEFAULT_LABELS
) -> tuple[UpsertAlarms, AlertStats]:
    """:func:`parse_alertmanager`, and what staff should know about the payload."""
    if isinstance(doc, dict) and doc.get("version") != "4":
        got = "no version" if "version" not in doc else f"version {doc['version']!r}"
        message = f'unsupported webhook format: {got}; expected "4" (Alertmanager ≥ 0.15)'
        raise InvalidInput([Problem("$.version", message)])
    webhook = validate(AlertmanagerWebhook, doc)
    stats = AlertStats(truncated_alerts=webhook.truncated_alerts)
    alarms = tuple(_alarm(a, webhook.external_url, labels, stats) for a in webhook.alerts)
    return UpsertAlarms(alarms), stats
