"""The layout is the architecture: no module imports a layer above its own, and no import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "gateway"

# lower layers first; a module may import its own package and anything ranked below it
RANKS = {
    "gateway": 0,  # the package's own docstring and nothing else
    "gateway.errors": 0,
    "gateway.model": 1,
    "gateway.settings": 2,  # reads model types (severities)
    "gateway.security": 1,
    "gateway.pki": 1,
    "gateway.console": 1,  # the staff console's files (issue 19), served by gateway.api
    "gateway.ingest": 2,
    "gateway.store": 2,
    "gateway.disclosure": 3,
    "gateway.leakguard": 4,
    "gateway.views": 5,
    "gateway.policy": 6,
    "gateway.push": 6,  # long-poll, change feed, webhooks, feeds: from published views only
    "gateway.tickets": 7,  # records its changes in the policy store's audit trail
    "gateway.schemas": 8,
    "gateway.api": 8,
    "gateway.ops": 8,  # metrics, health, access log, logs: beside the routes, below the app
    "gateway.app": 9,
    "gateway.server": 10,
    "gateway.demo": 11,
    "gateway.cli": 12,
}
# a development tool: only the command line and the demo may reach it
PKI_USERS = ("gateway.cli", "gateway.demo")


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every gateway module ``name`` imports: ``from p import m`` names the submodule m when
    there is one, else the package p."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("gateway"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gateway"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    out.discard(name)
    return {m for m in out if m in MODULES}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    if module == "gateway":
        return module
    for prefix in sorted(set(RANKS) - {"gateway"}, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    raise AssertionError(f"{module} is in no layer: give its package a rank in RANKS")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _unit(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} → {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _unit(target) != _unit(module) and RANKS[_unit(target)] >= RANKS[_unit(module)]
    ]
    assert upward == []


def test_nothing_on_the_serving_path_imports_the_dev_pki() -> None:
    users = [
        f"{module} → {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _unit(target) == "gateway.pki"
        and _unit(module) != "gateway.pki"
        and not module.startswith(PKI_USERS)
    ]
    assert users == []


def test_there_is_no_import_cycle() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
    assert cycles == [], "\n".join(" → ".join(c) for c in cycles)


def test_the_checker_sees_an_upward_import_and_a_cycle() -> None:
    # the rules above are only worth something if they can fail
    assert "gateway.views.cache" in GRAPH["gateway.views.refresher"]
    assert RANKS[_unit("gateway.api.public")] > RANKS[_unit("gateway.views.cache")]
    assert "gateway.leakguard.automaton" in GRAPH["gateway.leakguard.vocabulary"]


# each database's SQL lives in its store: the policy database's in policy/store.py, the data
# store's in store/sqlite.py; anywhere else, a statement is a store method waiting to be written
SQL_HOMES = (
    "gateway/policy/store.py",
    "gateway/policy/audittables.py",  # the policy database's audit tables, part of PolicyDb
    "gateway/store/sqlite.py",
    "gateway/store/events.py",  # the change feed (gateway/push)
    "gateway/store/subscriptions.py",  # webhook subscriptions, on the feed's connection
    "gateway/store/rollups.py",  # the data store's performance buckets, written by sqlite.py
    "gateway/tickets/store.py",  # trouble tickets, in the same file
)
SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b"
)


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with each placeholder as ``x``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) or "x" for v in node.values)
    return None


def _sql_outside_stores() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT.parent).as_posix()
        if where in SQL_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = _text(node)
            if text is not None and SQL.search(text):
                found.append(f"{where}:{getattr(node, 'lineno', 0)}: {text[:60]!r}")
    return found


def test_sql_lives_only_in_the_stores() -> None:
    assert _sql_outside_stores() == []
    assert SQL.search("SELECT number FROM policy_versions WHERE id=?")  # the check can fail
    (fstring,) = ast.parse('f"SELECT {cols} FROM audit_events {where}"').body
    assert SQL.search(_text(fstring.value) or "")  # type: ignore[attr-defined]
