"""TMF642 Alarm Management v5 over a peer's alarms view: its published items, in TMF names.

Nothing here reads the internal model. The input is the ``alarms`` view exactly as it was
published (the bytes the leak guard passed), parsed; each TMF attribute is a published field
renamed, or a value derived from published fields only (``alarmType`` from the probable
cause, ``alarmChangedTime`` as the later of the published times, ``href`` from the id).
A field the policy does not disclose is absent from both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from gateway.views.alarm_types import alarm_type

API = "/tmf-api/alarmManagement/v5"
ALARMS = API + "/alarm"
VERSION = "5.0.0"  # TMF642 Alarm Management API, the release these names follow

#: Demarc alarm state → TMF642 AlarmStateType (a Demarc alarm is never "updated")
STATES: Mapping[str, str] = {"active": "raised", "cleared": "cleared"}
STATE_NAMES = ("raised", "updated", "cleared")
SEVERITIES = ("critical", "major", "minor", "warning", "indeterminate", "cleared")
#: Demarc field → TMF642 attribute, for fields copied as they are
RENAMED: Mapping[str, str] = {
    "severity": "perceivedSeverity",
    "probable_cause": "probableCause",
    "specific_problem": "specificProblem",
    "raised_at": "alarmRaisedTime",
    "cleared_at": "alarmClearedTime",
    "text": "alarmDetails",
}
ATTRIBUTES = (
    "id", "href", "@type", "alarmType", "perceivedSeverity", "probableCause",
    "specificProblem", "state", "alarmRaisedTime", "alarmChangedTime", "alarmClearedTime",
    "alarmedObject", "alarmDetails",
)  # fmt: skip
#: kept whatever ``fields=`` selects (TMF630: a selection never hides what names the object)
ALWAYS = frozenset({"id", "href", "@type"})

_items = msgspec.json.Decoder(list[dict[str, Any]])


def to_tmf(item: Mapping[str, Any]) -> dict[str, Any]:
    """One published alarm item as a TMF642 Alarm; absent and null fields stay absent."""
    out: dict[str, Any] = {}
    ident = item.get("id")
    if isinstance(ident, str):
        out["id"] = ident
        out["href"] = f"{ALARMS}/{quote(ident, safe='')}"
    out["@type"] = "Alarm"
    kind = alarm_type(item.get("probable_cause"))
    if kind is not None:
        out["alarmType"] = kind
    for name, attribute in RENAMED.items():
        value = item.get(name)
        if value is not None:
            out[attribute] = value
    state = STATES.get(item.get("state"))  # type: ignore[arg-type]
    if state is not None:
        out["state"] = state
    # the last change a published field tells of: the clear if there was one, else the raise
    changed = item.get("cleared_at") or item.get("raised_at")
    if changed is not None:
        out["alarmChangedTime"] = changed
    resource = item.get("resource")
    if resource is not None:
        # the circuit as the alarms view names it: the agreed circuit id, or its pseudonym
        out["alarmedObject"] = {
            "@type": "AlarmedObjectRef",
            "@referredType": "Interconnect",
            "id": resource,
        }
    return out


def parse_view(contents: bytes | memoryview) -> list[dict[str, Any]]:
    """The TMF alarms of a published alarms view (its items' bytes), in the view's order."""
    return [to_tmf(item) for item in _items.decode(contents)]


def matching(
    alarms: Iterable[dict[str, Any]],
    states: frozenset[str] | None = None,
    severities: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """The alarms whose published state and severity are among those asked for; an alarm that
    does not publish the attribute matches no filter on it (nothing is inferred)."""
    out = []
    for alarm in alarms:
        if states is not None and alarm.get("state") not in states:
            continue
        if severities is not None and alarm.get("perceivedSeverity") not in severities:
            continue
        out.append(alarm)
    return out


def selected(alarm: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """``alarm`` with only the attributes of ``fields=`` (and those that name it)."""
    if fields is None:
        return dict(alarm)
    keep = fields | ALWAYS
    return {k: v for k, v in alarm.items() if k in keep}


def comma_list(value: str | None) -> frozenset[str] | None:
    """A TMF630 comma-separated query value as a set (None when the parameter is absent)."""
    if value is None:
        return None
    return frozenset(part for part in value.split(",") if part)


class Tmf642Cache:
    """Each audience's alarms view in TMF form, parsed once per published version (by ETag)."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[str, list[dict[str, Any]]]] = {}

    def alarms(
        self, audience: str, etag: str, contents: bytes | memoryview
    ) -> Sequence[dict[str, Any]]:
        hit = self._memo.get(audience)
        if hit is not None and hit[0] == etag:
            return hit[1]
        alarms = parse_view(contents)
        self._memo[audience] = (etag, alarms)
        return alarms
