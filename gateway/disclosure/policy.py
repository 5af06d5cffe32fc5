"""The disclosure policy format: what one audience may see, per kind of object."""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
AUDIENCE_RE = re.compile(rf"^(peer/{NAME}|customer/({NAME}|\*))$")

Identifiers = Literal["pseudonym", "shared"]
TimePrecision = Literal["second", "minute", "hour"]

InterconnectField = Literal[
    "id", "status", "capacity_mbps", "utilisation_pct", "delay_ms", "loss_pct",
    "local_tp", "remote_node", "remote_tp", "updated_at",
]  # fmt: skip
PeerAlarmField = Literal[
    "id", "resource", "severity", "probable_cause", "specific_problem", "state",
    "raised_at", "cleared_at", "text",
]  # fmt: skip
PeerMaintenanceField = Literal["id", "resources", "start", "end", "status", "text"]
ServiceField = Literal[
    "id", "name", "type", "status", "sla", "bandwidth_mbps", "endpoints", "group",
]  # fmt: skip
SummaryField = Literal["status", "groups", "incidents", "maintenance"]
HistoryField = Literal["id", "name", "group", "sla", "days", "months"]
IncidentField = Literal[
    "id", "title", "services", "impact", "severity", "probable_cause", "state", "status",
    "started_at", "cleared_at", "count", "text", "updates",
]  # fmt: skip
CustomerMaintenanceField = Literal[
    "id", "services", "start", "end", "status", "text", "updates",
]  # fmt: skip
#: text written for customers by staff or a source (incident titles, update texts)
Written = Literal["drop", "keep"]
_WRITTEN = (
    "keep: text staff and sources wrote for customers (incident titles, update texts) is "
    "published as written, once the leak guard passed it (a text naming the network's "
    "internals is refused when it is written, and withheld if it slips through); drop: "
    "titles come from the template and updates carry no text"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextTemplate(_Strict):
    """Free text replaced by a fixed template; ``{field}`` placeholders name published fields."""

    template: Annotated[str, Field(min_length=1, max_length=500)]


TextRule = Literal["drop", "keep"] | TextTemplate


class _Rule(_Strict):
    identifiers: Identifiers = Field(
        "pseudonym",
        description="pseudonym: keyed per-audience pseudonyms; shared: the id agreed with the "
        "audience (circuit id, service id). Internal ids are never published as they are.",
    )

    @model_validator(mode="after")
    def _fields_unique(self) -> _Rule:
        fields: list[str] = list(getattr(self, "fields", []))
        dupes = sorted({f for f in fields if fields.count(f) > 1})
        if dupes:
            raise ValueError(f"fields listed twice: {', '.join(dupes)}")
        text = getattr(self, "text", None)
        if "text" in fields and text == "drop":
            raise ValueError(
                "'text' is listed in fields but text is 'drop': set text to 'keep' or to "
                "{template: ...}, or remove 'text' from fields"
            )
        if isinstance(text, TextTemplate):
            for _, name, spec, conversion in string.Formatter().parse(text.template):
                if name is not None and (spec or conversion):
                    raise ValueError(
                        f"text template placeholder {{{name}...}} has a format spec or "
                        "conversion; write plain {field} placeholders"
                    )
                if name is not None and (name == "text" or name not in fields):
                    raise ValueError(
                        f"text template uses {{{name}}}, which is not a disclosed field of this "
                        f"kind; use one of: {', '.join(f for f in fields if f != 'text')}"
                    )
        return self


class _Timed(_Rule):
    time_precision: TimePrecision = "second"


class InterconnectRule(_Rule):
    fields: list[InterconnectField] = Field(min_length=1)
    round: dict[Literal["capacity_mbps", "utilisation_pct", "delay_ms", "loss_pct"], int] = Field(
        default_factory=dict, description="decimal places kept per numeric field"
    )

    @field_validator("round")
    @classmethod
    def _digits(cls, value: dict[str, int]) -> dict[str, int]:
        for name, digits in value.items():
            if not 0 <= digits <= 6:
                raise ValueError(f"round.{name}: decimal places must be 0 to 6, not {digits}")
        return value


class PeerAlarmRule(_Timed):
    fields: list[PeerAlarmField] = Field(min_length=1)
    text: TextRule = "drop"
    history_hours: int = Field(24, ge=0, le=720, description="how long cleared alarms stay")


PerformanceMetric = Literal["utilisation_pct", "delay_ms", "loss_pct", "errors_per_s"]


class PerformanceRule(_Strict):
    """``GET /v1/interconnects/{id}/performance``: each interconnect's measurements as time
    series, min/avg/max per 5-minute bucket (kept 7 days) or hour (kept 90 days)."""

    metrics: list[PerformanceMetric] = Field(min_length=1)
    round: dict[PerformanceMetric, int] = Field(
        default_factory=dict, description="decimal places kept per metric (min, avg and max)"
    )
    days: int = Field(90, ge=1, le=90, description="how far back a peer may ask, in days")

    @model_validator(mode="after")
    def _valid(self) -> PerformanceRule:
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("metrics listed twice")
        for name, digits in self.round.items():
            if not 0 <= digits <= 6:
                raise ValueError(f"round.{name}: decimal places must be 0 to 6, not {digits}")
        return self


TicketField = Literal[
    "status", "status_history", "notes", "expected_resolution", "resolved_at",
    "seller_priority", "seller_severity", "updated_at",
]  # fmt: skip
#: ticket fields a text template may name: one value each
TICKET_TEMPLATE_FIELDS = frozenset(
    {"status", "expected_resolution", "resolved_at", "seller_priority", "seller_severity",
     "updated_at"}
)  # fmt: skip


class TicketRule(_Strict):
    """Trouble tickets (TMF621 routes): the audience opens tickets on its own interconnects
    (a peer) or services (a customer), follows them and adds notes. What it wrote itself it
    always sees; ``fields`` are what it sees of the operator's side."""

    fields: list[TicketField] = Field(min_length=1)
    text: TextRule = Field(
        "drop",
        description="the operator's notes and status change reasons: drop (none are shown), "
        "keep (as written, each screened by the leak guard) or a template of ticket fields",
    )
    time_precision: TimePrecision = "second"

    @model_validator(mode="after")
    def _valid(self) -> TicketRule:
        dupes = sorted({f for f in self.fields if self.fields.count(f) > 1})
        if dupes:
            raise ValueError(f"fields listed twice: {', '.join(dupes)}")
        if "notes" in self.fields and self.text == "drop":
            raise ValueError(
                "'notes' is listed in fields but text is 'drop': set text to 'keep' or to "
                "{template: ...}, or remove 'notes' from fields"
            )
        if isinstance(self.text, TextTemplate):
            usable = sorted(TICKET_TEMPLATE_FIELDS & set(self.fields))
            for _, name, spec, conversion in string.Formatter().parse(self.text.template):
                if name is not None and (spec or conversion):
                    raise ValueError(f"text template placeholder {{{name}...}}: write {{field}}")
                if name is not None and name not in usable:
                    raise ValueError(
                        f"text template uses {{{name}}}, which is not a disclosed field of "
                        f"tickets; use one of: {', '.join(usable) or '(none listed)'}"
                    )
        return self


class PeerMaintenanceRule(_Timed):
    fields: list[PeerMaintenanceField] = Field(min_length=1)
    text: TextRule = "drop"


class ServiceRule(_Rule):
    fields: list[ServiceField] = Field(min_length=1)


class IncidentRule(_Timed):
    fields: list[IncidentField] = Field(min_length=1)
    text: TextRule = "drop"
    history_hours: int = Field(
        24, ge=0, le=720, description="how long a resolved incident stays listed"
    )
    title: TextTemplate | None = Field(
        None,
        description="the title of an incident nobody wrote one for (every incident the "
        "alarms tell of), and of every incident with written: drop; placeholders: published "
        "fields, and {service}: the names of the services it affects (as the service rule "
        "shows them: names if it lists name, else their ids). Default: '{service}: {impact}' "
        "with what of it is disclosed",
    )
    written: Written = Field("drop", description=_WRITTEN)
    group_minutes: int = Field(
        15,
        ge=0,
        le=1440,
        description="alarms on the same services starting within this many minutes of an "
        "incident's first alarm are that incident (its count, its worst severity); 0: one "
        "incident per alarm",
    )

    @model_validator(mode="after")
    def _title_placeholders(self) -> IncidentRule:
        if "title" not in self.fields or self.title is None:
            return self  # never used, or the default, made of what is disclosed
        usable: set[str] = {f for f in self.fields if f not in ("text", "title", "updates")}
        if "services" in usable:
            usable.add("service")
        for _, name, spec, conversion in string.Formatter().parse(self.title.template):
            if name is not None and (spec or conversion or name not in usable):
                raise ValueError(
                    f"title template uses {{{name}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}}}: write plain placeholders naming a "
                    f"disclosed field ({', '.join(sorted(usable)) or 'none'})"
                )
        return self

    @property
    def title_template(self) -> str:
        """The title template in force: the rule's, or the default made of what it discloses."""
        if self.title is not None:
            return self.title.template
        parts = [f"{{{p}}}" for p, f in (("service", "services"), ("impact", "impact"))
                 if f in self.fields]  # fmt: skip
        return ": ".join(parts) or "Incident"


class CustomerMaintenanceRule(_Timed):
    fields: list[CustomerMaintenanceField] = Field(min_length=1)
    text: TextRule = "drop"
    written: Written = Field("drop", description=_WRITTEN)
    history_hours: int = Field(
        0,
        ge=0,
        le=720,
        description="how long a window stays listed after its end (completed or cancelled "
        "ones too); 0: only until it ends, and not once completed or cancelled",
    )


class SummaryRule(_Strict):
    """``GET /v1/summary``: the overall status, the services grouped by their ``group``
    (each shown with the service rule's fields), counts of open incidents and maintenance."""

    fields: list[SummaryField] = Field(min_length=1)


class HistoryRule(_Strict):
    """``GET /v1/history``: daily availability per service, and SLA attainment per month."""

    fields: list[HistoryField] = Field(min_length=1)
    days: int = Field(90, ge=1, le=400, description="how many UTC days back, today included")


TopologyMode = Literal["none", "interconnect", "abstract", "single-node", "filtered"]
TopologyMetric = Literal["delay_ms", "available_bandwidth_mbps", "srlgs"]


class TopologyFilter(_Strict):
    """For ``expose: filtered``: the native nodes to show, by tag or by role (either matches)."""

    tags: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    roles: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)


class TopologyRule(_Strict):
    """How much of the topology a peer sees, after RFC 8453 (ACTN)."""

    expose: TopologyMode = Field(
        description="none; interconnect (border points and interconnect links); abstract (border "
        "points joined by abstract links with aggregated metrics); single-node (the domain as one "
        "node with a connectivity matrix); filtered (a native subset, for trusted peers)"
    )
    identifiers: Identifiers = "pseudonym"
    metrics: list[TopologyMetric] = Field(default_factory=list)
    filter: TopologyFilter | None = None

    @model_validator(mode="after")
    def _filter_matches_mode(self) -> TopologyRule:
        chosen = self.filter is not None and (self.filter.tags or self.filter.roles)
        if self.expose == "filtered" and not chosen:
            raise ValueError("expose: filtered needs filter: {tags: [...]} or {roles: [...]}")
        if self.expose != "filtered" and self.filter is not None:
            raise ValueError(f"filter applies only to expose: filtered, not {self.expose}")
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("metrics listed twice")
        return self


class PeerDisclose(_Strict):
    topology: TopologyRule | None = None
    interconnect: InterconnectRule | None = None
    alarm: PeerAlarmRule | None = None
    maintenance: PeerMaintenanceRule | None = None
    performance: PerformanceRule | None = None
    ticket: TicketRule | None = None

    @model_validator(mode="after")
    def _circuits_are_named(self) -> PeerDisclose:
        # a circuit's history, or a ticket on it, names it by the id the interconnects view
        # publishes: without that id the peer could name none
        ic = self.interconnect
        for kind in ("performance", "ticket"):
            if getattr(self, kind) is not None and (ic is None or "id" not in ic.fields):
                raise ValueError(
                    f"{kind} needs an 'interconnect' rule that lists 'id': it names a circuit "
                    "by the id the interconnects view publishes"
                )
        return self


class CustomerDisclose(_Strict):
    service: ServiceRule | None = None
    incident: IncidentRule | None = None
    maintenance: CustomerMaintenanceRule | None = None
    summary: SummaryRule | None = None
    history: HistoryRule | None = None
    ticket: TicketRule | None = None

    @model_validator(mode="after")
    def _summary_parts(self) -> CustomerDisclose:
        # the summary shows what the other rules disclose, never more: each part needs its rule
        needs = {"groups": "service", "incidents": "incident", "maintenance": "maintenance"}
        for field in self.summary.fields if self.summary is not None else ():
            rule = needs.get(field, "service")
            if getattr(self, rule) is None:
                raise ValueError(f"summary field {field!r} needs a {rule!r} rule under disclose")
            if field == "status" and (self.service is None or "status" not in self.service.fields):
                raise ValueError("summary field 'status' needs 'status' among the service fields")
        if self.ticket is not None and (self.service is None or "id" not in self.service.fields):
            raise ValueError(
                "ticket needs a 'service' rule that lists 'id': a ticket names a service by "
                "the id the services view publishes"
            )
        return self


class _Policy(_Strict):
    audience: str
    description: str | None = None

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str) -> str:
        if not AUDIENCE_RE.match(value):
            raise ValueError(
                "audience must be 'peer/<name>', 'customer/<name>' or 'customer/*' "
                f"(names: letters, digits, '.', '_', '-'); got {value!r}"
            )
        return value


class PeerPolicy(_Policy):
    """What one peer operator sees of the interconnect between the two networks."""

    audience: Annotated[str, Field(pattern=r"^peer/")]
    disclose: PeerDisclose


class CustomerPolicy(_Policy):
    """What a customer (or every customer, ``customer/*``) sees of its own services."""

    audience: Annotated[str, Field(pattern=r"^customer/")]
    disclose: CustomerDisclose


Policy = PeerPolicy | CustomerPolicy

#: per role: published view name → the kind under ``disclose`` that feeds it
VIEWS: dict[str, dict[str, str]] = {
    "peer": {
        "interconnects": "interconnect",
        "alarms": "alarm",
        "maintenance": "maintenance",
        "topology": "topology",
        "topology-rfc8345": "topology",
    },
    "customer": {
        "services": "service",
        "incidents": "incident",
        "maintenance": "maintenance",
        "summary": "summary",
        "history": "history",
    },
}


def allowed_fields(model: type[_Rule]) -> tuple[str, ...]:
    annotation = model.model_fields["fields"].annotation
    (literal,) = get_args(annotation)
    return tuple(get_args(literal))
