"""The image as built from the Dockerfile: code and dependencies only, checked, non-root.

No container runtime runs in the test environment, so these read the Dockerfile and the
.dockerignore; the figures of a real build are in the README."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
IGNORED = {
    line.strip()
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}


def _all(keyword: str) -> list[str]:
    return [i for i in INSTRUCTIONS if i.split()[0].upper() == keyword]


def test_no_policies_and_no_test_data_go_into_the_image() -> None:
    copied = " ".join(_all("COPY"))
    for path in ("policies", "tests", "schemas", "bench"):
        assert path not in copied.split(), path
        assert path in IGNORED, f"{path} is not in .dockerignore"
    assert not [c for c in _all("COPY") if re.search(r"COPY\s+\.\s", c)], "COPY . copies it all"


def test_dependencies_are_a_layer_of_their_own_before_the_code() -> None:
    steps = INSTRUCTIONS
    deps = next(i for i, s in enumerate(steps) if "requirements.txt" in s and "pip install" in s)
    code = next(i for i, s in enumerate(steps) if s.startswith("COPY gateway"))
    assert deps < code
    # nothing but pyproject.toml is copied before the dependencies are installed
    before = [s for s in steps[:deps] if s.startswith("COPY")]
    assert before == ["COPY pyproject.toml ./"]


def test_the_base_image_is_pinned_and_the_process_is_not_root() -> None:
    for base in _all("FROM"):
        image = base.split()[1]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image
    users = _all("USER")
    assert users and users[-1].split()[1] not in ("root", "0")


def test_the_health_check_asks_readiness_on_the_ops_listener() -> None:
    (check,) = _all("HEALTHCHECK")
    default = Settings().ops
    assert default is not None and default.host == "127.0.0.1"
    assert f"'DEMARC_OPS__PORT', '{default.port}'" in check
    assert "http://127.0.0.1:{port}/readyz" in check
