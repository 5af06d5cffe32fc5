"""The staff console's files: one page shell, and the scripts and styles it loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
SHELL = Path(__file__).parent / "shell.html"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str


def load_assets() -> dict[str, Asset]:
    """Every script and style under static/, by its path there (``js/core.js``), read once:
    the console is served from memory and from nothing else (no CDN, works offline)."""
    out: dict[str, Asset] = {}
    for path in sorted(STATIC.rglob("*")):
        kind = _TYPES.get(path.suffix)
        if kind is not None and path.is_file():
            out[path.relative_to(STATIC).as_posix()] = Asset(path.read_bytes(), kind)
    return out


def load_shell() -> str:
    return SHELL.read_text(encoding="utf-8")
