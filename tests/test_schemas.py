"""The JSON Schemas in schemas/ are exactly what the models produce: they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from gateway.model import METRICS
from gateway.schemas import render, schemas

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("name", sorted(schemas()))
def test_schema_file_matches_the_model(name: str) -> None:
    path = SCHEMAS / name
    assert path.exists(), f"{path} is missing: run `demarc schemas export`"
    drifted = f"{name} drifted from the models: run `demarc schemas export`"
    assert path.read_bytes() == render(schemas()[name]), drifted


def test_no_stale_schema_files() -> None:
    assert {p.name for p in SCHEMAS.glob("*.json")} == set(schemas())


def test_sample_policies_point_editors_at_the_schema() -> None:
    for policy in (SCHEMAS.parent / "policies").glob("*.yaml"):
        first = policy.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/policy.schema.json", policy


def test_the_ingest_bodies_in_openapi_are_the_schemas_files() -> None:
    """One source of truth: each ingest route's request body is the schema in schemas/."""
    from gateway.api.ingest import BODIES, PREFIX
    from gateway.api.openapi import components

    documented = components(*BODIES, prefix=PREFIX)
    by_file = schemas()

    def as_file(schema: object) -> bytes:
        refs = msgspec.json.encode(schema, order="sorted")
        return refs.replace(b"#/components/schemas/" + PREFIX.encode(), b"#/$defs/")

    for model in BODIES:
        on_file = dict(next(s for s in by_file.values() if s.get("title") == model.__name__))
        on_file.pop("$schema")
        defs = on_file.pop("$defs", {})
        assert as_file(documented[PREFIX + model.__name__]) == as_file(on_file), model.__name__
        for name, sub in defs.items():
            assert as_file(documented[PREFIX + name]) == as_file(sub), name


def test_the_schemas_are_as_strict_as_the_parsers_where_json_schema_can_say_it() -> None:
    """Unknown metric names, control characters in ids, null references: refused by both."""
    metric = schemas()["ingest-metrics.schema.json"]["$defs"]["SampleIn"]["properties"]["metric"]
    assert set(metric["enum"]) == set(METRICS)
    ref = schemas()["ingest-metrics.schema.json"]["$defs"]["Ref"]["properties"]
    for key in ("node", "tp", "link", "service"):
        assert ref[key]["type"] == "string", key  # never null
        assert re.fullmatch(ref[key]["pattern"], "pe1\x07") is None
        assert re.fullmatch(ref[key]["pattern"], "pe1.ams") is not None
