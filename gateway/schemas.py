"""JSON Schema for the policy format and the ingest formats, as ``demarc schemas export`` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel, TypeAdapter

from gateway.disclosure.policy import CustomerPolicy, PeerPolicy
from gateway.ingest import (
    AlarmsDoc,
    AlertmanagerWebhook,
    IncidentsDoc,
    MaintenanceDoc,
    MetricsDoc,
    ServiceDeletionDoc,
    ServicesDoc,
    TopologyDoc,
)

_INGEST: dict[str, type[BaseModel]] = {
    "ingest-topology.schema.json": TopologyDoc,
    "ingest-alertmanager.schema.json": AlertmanagerWebhook,
    "ingest-services.schema.json": ServicesDoc,
    "ingest-services-delete.schema.json": ServiceDeletionDoc,
    "ingest-alarms.schema.json": AlarmsDoc,
    "ingest-metrics.schema.json": MetricsDoc,
    "ingest-maintenance.schema.json": MaintenanceDoc,
    "ingest-incidents.schema.json": IncidentsDoc,
}


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema document."""
    policy = TypeAdapter(PeerPolicy | CustomerPolicy).json_schema(by_alias=True)
    out: dict[str, dict[str, Any]] = {
        "policy.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Demarc disclosure policy",
            **policy,
        }
    }
    for name, model in _INGEST.items():
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(by_alias=True),
        }
    return out


def render(schema: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(schema, order="sorted"), indent=2) + b"\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_bytes(render(schema))
        written.append(path)
    return written
