"""Debian's Chromium driven by Playwright, presenting staff client certificates to a gateway.

The browser is never downloaded: it is /usr/bin/chromium from Debian's package, which
`make test` installs when it is missing. A machine without it fails these tests, never skips
them. Playwright presents the client certificate itself (its TLS proxy in front of the
browser); the gateway's CA is handed to that proxy through NODE_EXTRA_CA_CERTS, so the
server certificate is verified, not ignored.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import ROOT, Pki, RunningGateway

ARTIFACTS = ROOT / "artifacts" / "console"  # screenshots and timings (ignored by git)
CHROMIUM = ("chromium", "chromium-browser")
NO_BROWSER = (
    "Debian's Chromium is needed for the console's browser tests and is not installed: "
    "`make test` installs it (apt-get install chromium, as root); or install it yourself"
)


def chromium() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(NO_BROWSER)


@contextmanager
def launched(pki: Pki) -> Iterator[Browser]:
    executable = chromium()
    before = os.environ.get("NODE_EXTRA_CA_CERTS")
    os.environ["NODE_EXTRA_CA_CERTS"] = str(pki.directory / "ca.crt")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if before is None:
            os.environ.pop("NODE_EXTRA_CA_CERTS", None)
        else:
            os.environ["NODE_EXTRA_CA_CERTS"] = before


def as_principal(
    browser: Browser, server: RunningGateway, pki: Pki, principal: str
) -> BrowserContext:
    """A browser profile holding ``principal``'s certificate for the internal listener."""
    role, name = principal.split("/")
    context = browser.new_context(
        base_url=server.internal_url,
        viewport={"width": 1366, "height": 900},  # a laptop
        client_certificates=[
            {
                "origin": server.internal_url,
                "certPath": str(pki.directory / f"{role}-{name}.crt"),
                "keyPath": str(pki.directory / f"{role}-{name}.key"),
            }
        ],
    )
    context.set_default_timeout(15_000)
    return context


class Console:
    """One staff member's browser tab on the console; collects script errors and timings."""

    def __init__(self, context: BrowserContext, who: str) -> None:
        self.page: Page = context.new_page()
        self.who = who
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # a refused request is logged by the browser as a failed load: the tests expect those
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def open(self, path: str) -> dict[str, Any]:
        """Go to ``path`` and wait until the page has its data; the browser's own timings."""
        self.page.goto(path)
        self.page.wait_for_selector("body[data-ready=true]", state="attached")
        timing: dict[str, Any] = self.page.evaluate(
            """() => { const n = performance.getEntriesByType('navigation')[0];
                return {dom_interactive_ms: n.domInteractive,
                        dom_content_loaded_ms: n.domContentLoadedEventEnd,
                        data_ready_ms: Number(document.body.dataset.readyMs)}; }"""
        )
        return timing

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def reload_ready(self) -> None:
        self.page.reload()
        self.page.wait_for_selector("body[data-ready=true]", state="attached")


def record_timings(name: str, timings: dict[str, dict[str, Any]]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    for page, t in timings.items():
        shown = f"interactive {t['dom_interactive_ms']:.0f} ms, data {t['data_ready_ms']:.0f} ms"
        print(f"{page}: {shown}")
