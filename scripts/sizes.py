"""Count modules over 300 lines and functions over 60 lines in gateway/ (STYLE.md's sizes)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES = 300
FUNCTION_LINES = 60


def main(root: Path) -> None:
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            modules.append((lines, str(path)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    functions.append((length, f"{path}:{node.lineno} {node.name}"))
    print(f"modules over {MODULE_LINES} lines: {len(modules)}")
    for n, where in sorted(modules, reverse=True):
        print(f"  {n:4d} {where}")
    print(f"functions over {FUNCTION_LINES} lines: {len(functions)}")
    for n, where in sorted(functions, reverse=True):
        print(f"  {n:4d} {where}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "gateway"))
