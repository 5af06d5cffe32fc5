"""The JSON Schemas in schemas/ are exactly what the models produce: they cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest

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
