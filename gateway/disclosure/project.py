"""Pure projection steps: a policy rule compiled into one function from row to published item."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from gateway.disclosure.policy import TextTemplate
from gateway.disclosure.pseudonym import Pseudonymizer
from gateway.model import Snapshot

Settled = Mapping[str, Mapping[date, tuple[tuple[int, int, str], ...]]]
_NOTHING_SETTLED: Settled = MappingProxyType({})

Row = TypeVar("Row")
Item = dict[str, Any]
#: what one view renders to: a list of items, or one document (a topology)
ViewData = list[Item] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """What every getter may read: the data, the time of rendering, the audience's pseudonyms."""

    snapshot: Snapshot
    now: datetime
    pseudonym: Pseudonymizer
    audience: str
    #: availability already settled per service and UTC day (spans kept once the alarms that
    #: made them may be pruned); what is not here is computed from the snapshot
    settled: Settled = field(default_factory=lambda: _NOTHING_SETTLED)


Getter = Callable[[Context, Row], Any]


@dataclass(frozen=True, slots=True)
class Projection(Generic[Row]):
    """One object kind's allow-list, compiled: a fixed tuple of (published name, getter)."""

    getters: tuple[tuple[str, Callable[[Context, Row], Any]], ...]
    text: Callable[[Context, Row, Item], str | None] | None

    def __call__(self, ctx: Context, row: Row) -> Item:
        item: Item = {name: get(ctx, row) for name, get in self.getters}
        if self.text is not None:
            item["text"] = self.text(ctx, row, item)
        return item


def compile_projection(
    catalog: Mapping[str, Getter[Row]],
    fields: list[str],
    *,
    rounding: Mapping[str, int] | None = None,
    time_precision: str = "second",
    time_fields: frozenset[str] = frozenset(),
    text_rule: str | TextTemplate = "drop",
    raw_text: Callable[[Row], str | None] | None = None,
) -> Projection[Row]:
    """The projection for ``fields``, in the order the policy lists them."""
    getters: list[tuple[str, Getter[Row]]] = []
    for name in fields:
        if name == "text":
            continue
        get = catalog[name]
        if rounding and name in rounding:
            get = _rounded(get, rounding[name])
        if name in time_fields:
            get = _timestamp(get, time_precision, name in END_FIELDS)
        getters.append((name, get))
    text: Callable[[Context, Row, Item], str | None] | None = None
    if "text" in fields and raw_text is not None:
        text = _text(text_rule, raw_text)
    return Projection(getters=tuple(getters), text=text)


def _rounded(get: Getter[Row], digits: int) -> Getter[Row]:
    def rounded(ctx: Context, row: Row) -> Any:
        value = get(ctx, row)
        return None if value is None else round(float(value), digits)

    return rounded


_UNIT = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1)}
_TRUNCATE = {
    "second": {"microsecond": 0},
    "minute": {"second": 0, "microsecond": 0},
    "hour": {"minute": 0, "second": 0, "microsecond": 0},
}
# where an interval ends: coarsened upwards, so a published interval always covers the real one
END_FIELDS = frozenset({"cleared_at", "end"})


@functools.lru_cache(maxsize=1 << 16)
def format_time(
    value: datetime | None, precision: str = "second", *, up: bool = False
) -> str | None:
    """``value`` at ``precision``, rounded down, or up when ``up`` (the end of an interval).
    Memoised: the same alarm times are formatted again for every audience and every render."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    floor = value.replace(**_TRUNCATE[precision])  # type: ignore[arg-type]
    if up and floor != value:
        floor += _UNIT[precision]
    return floor.strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(get: Getter[Row], precision: str, up: bool) -> Getter[Row]:
    def timestamp(ctx: Context, row: Row) -> Any:
        return format_time(get(ctx, row), precision, up=up)

    return timestamp


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _text(
    rule: str | TextTemplate, raw: Callable[[Row], str | None]
) -> Callable[[Context, Row, Item], str | None]:
    if isinstance(rule, TextTemplate):
        template = rule.template

        def templated(ctx: Context, row: Row, item: Item) -> str | None:
            return template.format_map({k: _plain(v) for k, v in item.items()})

        return templated

    def kept(ctx: Context, row: Row, item: Item) -> str | None:
        return raw(row)

    return kept
