"""Demarc's own JSON formats for services, alarms, metric samples and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from gateway.errors import InvalidInput, Problem
from gateway.ingest._validation import (
    ID_SCHEMA,
    MAX_ITEMS,
    Id,
    Timestamp,
    check,
    duplicates,
    validate,
)
from gateway.ingest.status import MAX_UPDATES, MaintenanceUpdateIn
from gateway.model import (
    METRICS,
    AddMetricSamples,
    Alarm,
    DeleteServices,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    ResourceRef,
    Service,
    Severity,
    SlaTargets,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)


class _Native(BaseModel):
    # our own formats: an unknown key is a mistake (a typo, a wrong version), never an extension
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


RefId = Annotated[Id | None, WithJsonSchema(ID_SCHEMA)]


class Ref(_Native):
    """What a record is on: ``{"node", "tp"}``, ``{"node"}``, ``{"link"}`` or ``{"service"}``."""

    # absent, never null: the validator refuses null, and so does the schema
    node: RefId = None
    tp: RefId = None
    link: RefId = None
    service: RefId = None

    # the JSON Schema can say what the validator below checks
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["node"]}, {"required": ["link"]}, {"required": ["service"]}],
            "dependentRequired": {"tp": ["node"]},
        }
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if any(getattr(self, key) is None for key in self.model_fields_set):
            raise ValueError("a reference's values must be strings; expected no null")
        if self.tp is not None and self.node is None:
            raise ValueError('"tp" needs "node": a termination point is named within its node')
        if sum(x is not None for x in (self.node, self.link, self.service)) != 1:
            raise ValueError(
                'expected exactly one of {"node": …, "tp": …}, {"node": …}, {"link": …} '
                'or {"service": …}'
            )
        return self

    def to_model(self) -> ResourceRef:
        return ResourceRef(node=self.node, tp=self.tp, link=self.link, service=self.service)


Refs = Annotated[list[Ref], Field(max_length=MAX_ITEMS)]
Percent = Annotated[float, Field(ge=0, le=100)]
NonNegative = Annotated[float, Field(ge=0)]
# enums arrive as JSON strings, which strict mode would refuse for an Enum field
SeverityIn = Annotated[Severity, Field(strict=False)]
MaintenanceStatusIn = Annotated[MaintenanceStatus, Field(strict=False)]


class Sla(_Native):
    availability_pct: Percent | None = None
    max_delay_ms: NonNegative | None = None
    max_loss_pct: Percent | None = None
    maintenance: Literal["excluded", "included"] = Field(
        "excluded",
        description="excluded: time under planned maintenance is not downtime for "
        "availability_pct; included: it is",
    )


class ServiceIn(_Native):
    id: Id
    customer: Id
    name: str | None = None
    type: str | None = None
    endpoints: Refs
    resources: Refs
    sla: Sla | None = None
    bandwidth_mbps: NonNegative | None = None
    group: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="the customer's own grouping of its services (a site, a product)"
    )

    def to_model(self) -> Service:
        sla = self.sla or Sla()
        return Service(
            service_id=self.id,
            customer=self.customer,
            name=self.name,
            service_type=self.type,
            endpoints=tuple(r.to_model() for r in self.endpoints),
            resources=tuple(r.to_model() for r in self.resources),
            sla=SlaTargets(
                availability_pct=sla.availability_pct,
                max_delay_ms=sla.max_delay_ms,
                max_loss_pct=sla.max_loss_pct,
                maintenance=sla.maintenance,
            ),
            bandwidth_mbps=self.bandwidth_mbps,
            group=self.group,
        )


class ServicesDoc(_Native):
    """Services to create or replace, by id."""

    services: Annotated[list[ServiceIn], Field(max_length=MAX_ITEMS)]


class ServiceDeletionDoc(_Native):
    """Ids of services to delete."""

    delete: Annotated[list[Id], Field(max_length=MAX_ITEMS)]


class AlarmIn(_Native):
    id: Id
    resource: Ref | None
    severity: SeverityIn
    raised_at: Timestamp
    cleared_at: Timestamp | None = None
    probable_cause: str | None = None
    specific_problem: str | None = None
    text: str | None = None

    @field_validator("cleared_at")
    @classmethod
    def _cleared_after_raised(
        cls, cleared: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        raised = info.data.get("raised_at")
        if cleared is not None and raised is not None and cleared < raised:
            raise ValueError("cleared_at is before raised_at; expected the time the alarm cleared")
        return cleared

    def to_model(self) -> Alarm:
        return Alarm(
            alarm_id=self.id,
            resource=self.resource.to_model() if self.resource else None,
            severity=self.severity,
            raised_at=self.raised_at,
            cleared_at=self.cleared_at,
            probable_cause=self.probable_cause,
            specific_problem=self.specific_problem,
            text=self.text,
            source="native",
        )


class AlarmsDoc(_Native):
    """Alarms to create or replace, by id."""

    alarms: Annotated[list[AlarmIn], Field(max_length=MAX_ITEMS)]


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(sorted(METRICS))}")
    return name


class SampleIn(_Native):
    resource: Ref
    metric: Annotated[str, AfterValidator(_known_metric), WithJsonSchema({"enum": sorted(METRICS)})]
    value: float
    at: Timestamp

    def to_model(self) -> MetricSample:
        return MetricSample(self.resource.to_model(), self.metric, self.value, self.at)


class MetricsDoc(_Native):
    """Metric samples to add."""

    samples: Annotated[list[SampleIn], Field(max_length=MAX_ITEMS)]


class MaintenanceIn(_Native):
    id: Id
    resources: Annotated[list[Ref], Field(min_length=1, max_length=MAX_ITEMS)]
    start: Timestamp
    end: Timestamp
    status: MaintenanceStatusIn | None = Field(
        None,
        description="left out: the window keeps its status (a new one: scheduled, or its "
        "latest update's); the clock moves it to in-progress at start and completed at end",
    )
    description: str | None = None
    updates: Annotated[list[MaintenanceUpdateIn], Field(max_length=MAX_UPDATES)] = Field(
        default_factory=list,
        description="steps written for customers; they join those already on the window",
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("end is not after start; expected a window that ends after it starts")
        return end

    def to_model(self) -> Maintenance:
        return Maintenance(
            maintenance_id=self.id,
            resources=tuple(r.to_model() for r in self.resources),
            start=self.start,
            end=self.end,
            status=self.status or MaintenanceStatus.SCHEDULED,
            description=self.description,
            # as sent (problems name them by index); the store keeps them in time order
            updates=tuple(u.to_model() for u in self.updates),
        )


class MaintenanceDoc(_Native):
    """Maintenance windows to create or replace, by id."""

    maintenance: Annotated[list[MaintenanceIn], Field(max_length=MAX_ITEMS)]


def _unique_ids(key: str, ids: list[str]) -> None:
    # two records with one id in one upsert: which should win is the sender's bug, not ours
    check(duplicates(((ident, (key, i, "id")) for i, ident in enumerate(ids)), "id"))


def parse_services(doc: object) -> UpsertServices | DeleteServices:
    """``{"services": [...]}`` to create or replace, or ``{"delete": ["id", ...]}``."""
    if isinstance(doc, dict) and "delete" in doc:
        if "services" in doc:
            message = 'expected either "services" (to upsert) or "delete" (to remove), not both'
            raise InvalidInput([Problem("$", message)])
        deletion = validate(ServiceDeletionDoc, doc)
        return DeleteServices(tuple(dict.fromkeys(deletion.delete)))  # once each, in order
    parsed = validate(ServicesDoc, doc)
    _unique_ids("services", [s.id for s in parsed.services])
    return UpsertServices(tuple(s.to_model() for s in parsed.services))


def parse_alarms(doc: object) -> UpsertAlarms:
    """``{"alarms": [...]}`` as alarms from the native source."""
    parsed = validate(AlarmsDoc, doc)
    _unique_ids("alarms", [a.id for a in parsed.alarms])
    return UpsertAlarms(tuple(a.to_model() for a in parsed.alarms))


def parse_metrics(doc: object) -> AddMetricSamples:
    """``{"samples": [...]}`` as metric samples."""
    parsed = validate(MetricsDoc, doc)
    return AddMetricSamples(tuple(s.to_model() for s in parsed.samples))


def parse_maintenance(doc: object) -> UpsertMaintenance:
    """``{"maintenance": [...]}`` as maintenance windows."""
    parsed = validate(MaintenanceDoc, doc)
    _unique_ids("maintenance", [m.id for m in parsed.maintenance])
    keep = frozenset(m.id for m in parsed.maintenance if m.status is None)
    return UpsertMaintenance(tuple(m.to_model() for m in parsed.maintenance), keep)


__all__ = [
    "AlarmsDoc",
    "MaintenanceDoc",
    "MetricsDoc",
    "ServiceDeletionDoc",
    "ServicesDoc",
    "parse_alarms",
    "parse_maintenance",
    "parse_metrics",
    "parse_services",
]
