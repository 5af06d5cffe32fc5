"""Policy files: YAML → validated Policy, every error as ``file:line:col: path: message``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from gateway.disclosure.policy import AUDIENCE_RE, CustomerPolicy, PeerPolicy, Policy
from gateway.errors import PolicyError, Problem

Position = tuple[int, int]
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    policy: Policy
    source: str  # file name or "draft"
    text: str
    digest: str  # sha256 of the text: the policy version

    @property
    def version(self) -> str:
        return self.digest[:12]


def parse_policy(text: str, source: str = "<draft>") -> LoadedPolicy:
    """Parse and validate one policy document; raises PolicyError naming every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        reason = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([Problem(where, f"YAML syntax error: {reason}")]) from None
    positions: dict[Path_, Position] = {}
    problems: list[Problem] = []
    if root is not None:
        _walk(root, (), positions, problems, source)
    if problems:
        raise PolicyError(problems)
    if not isinstance(data, dict):
        raise PolicyError([Problem(f"{source}:1:1", "a policy is a mapping with 'audience'")])
    model = _model_for(data)
    try:
        policy: Policy = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            line, col = _nearest(positions, loc)
            path = _dotted(loc) or "(document)"
            problems.append(Problem(f"{source}:{line}:{col}", f"{path}: {_message(err)}"))
        raise PolicyError(problems) from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return LoadedPolicy(policy=policy, source=source, text=text, digest=digest)


def load_policy_dir(directory: Path) -> list[LoadedPolicy]:
    """Every ``*.yaml`` directly under ``directory``; all problems of all files together."""
    loaded: list[LoadedPolicy] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        try:
            item = parse_policy(path.read_text(encoding="utf-8"), str(path))
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        audience = item.policy.audience
        if audience in seen:
            problems.append(
                Problem(
                    f"{path}:1:1", f"audience {audience} is already defined in {seen[audience]}"
                )
            )
            continue
        seen[audience] = str(path)
        loaded.append(item)
    if problems:
        raise PolicyError(problems)
    return loaded


def _model_for(data: dict[object, object]) -> type[PeerPolicy] | type[CustomerPolicy]:
    audience = data.get("audience")
    if isinstance(audience, str) and AUDIENCE_RE.match(audience):
        return CustomerPolicy if audience.startswith("customer/") else PeerPolicy
    # an unknown audience is reported by validation against either model
    return PeerPolicy


def _walk(
    node: yaml.Node,
    path: Path_,
    positions: dict[Path_, Position],
    problems: list[Problem],
    source: str,
) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append(Problem(f"{source}:{line}:{col}", f"duplicate key {key!r}"))
            seen.add(key)
            _walk(value_node, (*path, key), positions, problems, source)
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions, problems, source)


def _nearest(positions: dict[Path_, Position], loc: Path_) -> Position:
    for end in range(len(loc), -1, -1):
        hit = positions.get(loc[:end])
        if hit is not None:
            return hit
    return (1, 1)


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: object) -> str:
    assert isinstance(err, dict)
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; unknown keys are never ignored)"
    if kind == "literal_error":
        ctx = err.get("ctx") or {}
        return f"{err.get('input')!r} is not allowed here; expected {ctx.get('expected')}"
    message = str(err.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
