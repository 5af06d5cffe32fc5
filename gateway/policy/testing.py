"""Policy test cases beside the policies: an input, what each audience must and must not see."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.disclosure import PolicySet, compile_policy, load_policy_dir
from gateway.disclosure.diff import objects
from gateway.disclosure.policy import VIEWS
from gateway.errors import DemarcError, InvalidInput, PolicyTestError, Problem, json_path
from gateway.ingest import (
    parse_alarms,
    parse_alertmanager,
    parse_incidents,
    parse_maintenance,
    parse_metrics,
    parse_services,
    parse_topology,
)
from gateway.model import Change, Snapshot
from gateway.policy.preview import render_preview

#: the ingest formats, in the order a deployment feeds them (topology first: the rest refer to it)
PARSERS: dict[str, Callable[[Any], Change]] = {
    "topology": parse_topology,
    "services": parse_services,
    "metrics": parse_metrics,
    "alarms": parse_alarms,
    "alertmanager": parse_alertmanager,
    "maintenance": parse_maintenance,
    "incidents": parse_incidents,
}
#: pseudonyms in test runs are made with this key: stable, and unlike any deployment's
TEST_SECRET = b"demarc policy tests: not a deployment key"
NO_CASES = "no test cases in {dir} (*.yaml with 'cases'): a run that finds no test fails"
UNKNOWN_FORMAT = "unknown data format"
VIEW_NAMES = frozenset(v for views in VIEWS.values() for v in views)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    views: list[str] | None = Field(None, description="exactly these views, if given")
    must_see: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    # "anywhere": strings that must not appear in any view's bytes; a view: partial items
    must_not_see: dict[str, list[Any]] = Field(default_factory=dict)


class Case(_Strict):
    name: str
    now: datetime
    data: str | dict[str, Any] = Field(
        description="documents by format; or a dataset's name (in this file's datasets, else "
        "tests/data/<name>.yaml); or {dataset: <name>, <format>: ...} to add documents to one"
    )
    expect: dict[str, Expectation] = Field(min_length=1, description="by audience")


class CaseFile(_Strict):
    datasets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cases: list[Case] = Field(min_length=1)


@dataclass
class CaseResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def snapshot_from(documents: Mapping[str, Any]) -> Snapshot:
    """Documents in Demarc's ingest formats, parsed and applied as the store would."""
    unknown = sorted(set(documents) - set(PARSERS))
    if unknown:
        message = f"not a data format; expected one of {', '.join(PARSERS)}"
        raise InvalidInput([Problem(json_path([u]), message) for u in unknown], UNKNOWN_FORMAT)
    snapshot, revision = Snapshot(), 0
    for name, parse in PARSERS.items():
        docs = documents.get(name)
        for doc in docs if isinstance(docs, list) else [] if docs is None else [docs]:
            revision += 1
            snapshot = snapshot.apply(parse(doc), revision)
    return snapshot


def load_data_dir(directory: Path) -> Snapshot:
    """``<format>.json`` files, as ``gateway.demo.network.write_demo`` writes them."""
    documents = {
        name: _read_json(directory / f"{name}.json")
        for name in PARSERS
        if (directory / f"{name}.json").exists()
    }
    if not documents:
        names = ", ".join(f"{n}.json" for n in PARSERS)
        raise PolicyTestError(f"{directory}: no data documents (expected some of {names})")
    return snapshot_from(documents)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyTestError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError: both say where
        raise PolicyTestError(f"{path}: not JSON: {exc}") from None


def _plain(value: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; the formats and the views use RFC 3339."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ" if value.utcoffset() is not None else "%FT%T")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def matches(partial: Any, item: Any) -> bool:
    """``partial`` is a subset of ``item``: every key it names has a matching value."""
    if isinstance(partial, dict):
        return isinstance(item, dict) and all(
            k in item and matches(v, item[k]) for k, v in partial.items()
        )
    if isinstance(partial, list):
        return (
            isinstance(item, list)
            and len(partial) == len(item)
            and all(matches(p, i) for p, i in zip(partial, item, strict=True))
        )
    return bool(partial == item)


_ENVELOPE = frozenset({"audience", "view", "revision", "policy_version"})


def _items(body: bytes) -> list[Any]:
    """What partial items are matched against: a list view's items; a document view (a
    topology) itself and every object in it."""
    envelope = msgspec.json.decode(body)
    if isinstance(envelope.get("items"), list):
        items: list[Any] = envelope["items"]
        return items
    content = {k: v for k, v in envelope.items() if k not in _ENVELOPE}
    document = next(iter(content.values())) if len(content) == 1 else content
    return [document, *(item for _, item in objects(document).values())]


def check(audience: str, expect: Expectation, bodies: Mapping[str, bytes]) -> list[str]:
    """Every way the rendered ``bodies`` break ``expect``."""
    items = {view: _items(body) for view, body in bodies.items()}
    out: list[str] = []
    if expect.views is not None and sorted(expect.views) != sorted(bodies):
        out.append(f"{audience}: views are {sorted(bodies)}, expected {sorted(expect.views)}")
    for view, partials in expect.must_see.items():
        if view not in items:
            out.append(f"{audience}: must see {view}, but it has no such view")
            continue
        for partial in partials:
            if not any(matches(_plain(partial), i) for i in items[view]):
                shown = json.dumps(_plain(partial), sort_keys=True)
                out.append(
                    f"{audience}: must see in {view} an item like {shown}; "
                    f"none of its {len(items[view])} items matches"
                )
    for key, values in expect.must_not_see.items():
        if key == "anywhere":
            for text in values:
                spelled = {str(text).encode(), json.dumps(str(text))[1:-1].encode()}
                hit = sorted(v for v, body in bodies.items() if any(s in body for s in spelled))
                if hit:
                    out.append(f"{audience}: must not see {text!r}, found in {', '.join(hit)}")
            continue
        for partial in values:
            found = [i for i in items.get(key, ()) if matches(_plain(partial), i)]
            if found:
                shown = json.dumps(_plain(partial), sort_keys=True)
                out.append(
                    f"{audience}: must not see in {key} an item like {shown}; {len(found)} match"
                )
    return out


def _problems(path: Path, exc: ValidationError) -> list[str]:
    return [f"{path}: {json_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]


def load_cases(path: Path) -> CaseFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyTestError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise PolicyTestError(
            f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}"
        ) from None
    try:
        cases = CaseFile.model_validate(_plain(raw))
    except ValidationError as exc:
        raise PolicyTestError("\n".join(_problems(path, exc))) from None
    for case in cases.cases:
        if case.now.utcoffset() is None:
            raise PolicyTestError(f"{path}: case {case.name!r}: now needs a time zone, e.g. ...Z")
        for audience, expect in case.expect.items():
            bad = sorted(set(expect.must_not_see) - VIEW_NAMES - {"anywhere"})
            bad += sorted(set(expect.must_see) - VIEW_NAMES)
            if bad:
                raise PolicyTestError(
                    f"{path}: case {case.name!r}: {audience}: unknown view "
                    f"{', '.join(bad)}; expected one of "
                    f"{', '.join(sorted(VIEW_NAMES))} (or 'anywhere')"
                )
    return cases


def run_case(policies: PolicySet, case: Case, data: Mapping[str, Any], file: str) -> CaseResult:
    result = CaseResult(file, case.name)
    try:
        snapshot = snapshot_from(data)
    except DemarcError as exc:
        result.failures.append(f"data: {exc}")
        return result
    for audience, expect in case.expect.items():
        policy = policies.for_audience(audience)
        bodies: dict[str, bytes] = {}
        if policy is not None:  # no policy, no views: default deny
            try:
                shown = render_preview(policy, snapshot, audience, TEST_SECRET, case.now)
            except Exception as exc:
                result.failures.append(f"{audience}: rendering failed ({type(exc).__name__})")
                continue
            bodies = {name: v.body for name, v in shown.views.views.items()}
        result.failures.extend(check(audience, expect, bodies))
    return result


def _documents(
    data: str | Mapping[str, Any], datasets: Mapping[str, Any], data_dir: Path
) -> dict[str, list[Any]]:
    """A case's documents by format: its dataset's first, then its own."""
    own: Mapping[str, Any] = {"dataset": data} if isinstance(data, str) else data
    base: Mapping[str, Any] = {}
    name = own.get("dataset")
    if isinstance(name, str):
        path = data_dir / f"{name}.yaml"
        if name in datasets:
            base = datasets[name]
        elif path.exists():
            try:
                base = _plain(yaml.safe_load(path.read_text(encoding="utf-8")))
            except (OSError, yaml.YAMLError) as exc:
                raise PolicyTestError(f"dataset {name!r} at {path} is unreadable: {exc}") from None
        else:
            raise PolicyTestError(f"no dataset {name!r} in this file's datasets nor at {path}")

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [] if value is None else [value]

    formats = (set(base) | set(own)) - {"dataset"}
    return {f: listed(base.get(f)) + listed(own.get(f)) for f in formats}


def run_tests(policy_dir: Path, tests_dir: Path | None = None) -> list[CaseResult]:
    """Every case of every ``*.yaml`` in ``tests_dir`` (default ``<policy_dir>/tests``)."""
    policies = PolicySet(compile_policy(p) for p in load_policy_dir(policy_dir))
    tests_dir = tests_dir or policy_dir / "tests"
    results: list[CaseResult] = []
    for path in sorted(tests_dir.glob("*.yaml")) + sorted(tests_dir.glob("*.yml")):
        try:
            cases = load_cases(path)
        except PolicyTestError as exc:
            results.append(CaseResult(str(path), "(file)", [str(exc)]))
            continue
        for case in cases.cases:
            try:
                data = _documents(case.data, cases.datasets, tests_dir / "data")
            except PolicyTestError as exc:
                results.append(CaseResult(str(path), case.name, [f"data: {exc}"]))
                continue
            results.append(run_case(policies, case, data, str(path)))
    return results
