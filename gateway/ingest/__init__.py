"""Ingest parsers: pure functions from a payload to one internal model change."""

from gateway.ingest._validation import Timestamp
from gateway.ingest.alertmanager import (
    DEFAULT_LABELS,
    DEFAULT_SEVERITIES,
    AlertLabelMap,
    AlertmanagerWebhook,
    AlertStats,
    parse_alertmanager,
    parse_alertmanager_report,
)
from gateway.ingest.decode import decode_json
from gateway.ingest.native import (
    AlarmsDoc,
    MaintenanceDoc,
    MetricsDoc,
    ServiceDeletionDoc,
    ServicesDoc,
    parse_alarms,
    parse_maintenance,
    parse_metrics,
    parse_services,
)
from gateway.ingest.rfc8345 import TopologyDoc, parse_topology
from gateway.ingest.status import (
    IncidentIn,
    IncidentsDoc,
    IncidentUpdateIn,
    MaintenanceUpdateIn,
    parse_incidents,
)

__all__ = [
    "DEFAULT_LABELS",
    "DEFAULT_SEVERITIES",
    "AlarmsDoc",
    "AlertLabelMap",
    "AlertStats",
    "AlertmanagerWebhook",
    "IncidentIn",
    "IncidentUpdateIn",
    "IncidentsDoc",
    "MaintenanceDoc",
    "MaintenanceUpdateIn",
    "MetricsDoc",
    "ServiceDeletionDoc",
    "ServicesDoc",
    "Timestamp",
    "TopologyDoc",
    "decode_json",
    "parse_alarms",
    "parse_alertmanager",
    "parse_alertmanager_report",
    "parse_incidents",
    "parse_maintenance",
    "parse_metrics",
    "parse_services",
    "parse_topology",
]
