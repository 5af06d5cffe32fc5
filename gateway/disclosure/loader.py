"""Policy files: YAML → validated Policy, every error as ``file:line:col: path: message``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


MAX_DEPTH = 32  # a real policy nests about 5 deep
MAX_NODES = 100_000  # a real policy has a few hundred
NESTED = f"nested deeper than {MAX_DEPTH} levels: a policy is a few levels of mappings and lists"
ALIAS = "an alias (*name) is not allowed in a policy: write the value out where it is used"
TOO_MANY = f"more than {MAX_NODES} values: a policy has a few hundred"


class _Refused(Exception):
    """A document refused for its shape, not its syntax; where, 1-based."""

    def __init__(self, message: str, mark: Any) -> None:  # yaml.Mark, of either parser
        super().__init__(message)
        self.message = message
        self.line: int = mark.line + 1 if mark else 1
        self.column: int = mark.column + 1 if mark else 1


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and bounds nesting and size while composing.

    PyYAML composes recursively (50,000 nested ``[`` overflow the stack) and expands nothing
    itself, but any walk over the composed graph follows aliases: nine lines of aliases make
    billions of nodes. Refusing aliases keeps every walk linear in the text.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._nodes = 0

    def fetch_flow_collection_start(self, TokenClass: type) -> None:
        # the scanner looks ahead over every open '[' for a possible key, quadratically: stop
        # long before the composer would
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(NESTED, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(ALIAS, event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(TOO_MANY, event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(NESTED, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str) -> tuple[yaml.Node | None, object]:
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def parse_policy(text: str, source: str = "<draft>") -> LoadedPolicy:
    """Parse and validate one policy document; raises PolicyError naming every problem.

    CPU-bound on large texts: async callers run it in a thread.
    """
    try:
        root, data = _compose(text)
    except _Refused as exc:
        raise PolicyError([Problem(f"{source}:{exc.line}:{exc.column}", exc.message)]) from None
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


def source_positions(text: str) -> dict[Path_, Position]:
    """Line and column (1-based) of every key and list item of a policy text, by path: what
    explanations point at (``("disclose", "alarm", "fields", 3)`` is the fourth field listed).
    The text must be one that parses (a stored version or draft)."""
    root, _ = _compose(text)
    positions: dict[Path_, Position] = {}
    if root is not None:
        _walk(root, (), positions, [], "<text>")
    return positions


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
