"""/docs and /redoc work offline: every asset is served by the gateway itself, none by a CDN."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from tests.conftest import STAFF

PEER = "peer/acme"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
@pytest.mark.parametrize("listener", ["public", "internal"])
def test_docs_reference_only_same_origin_assets_and_serve_them(
    public: Any, internal: Any, page: str, listener: str
) -> None:
    client = public(PEER) if listener == "public" else internal(STAFF)
    html = client.get(page)
    assert html.status_code == 200
    # nothing that would leave the management network: no scheme, no protocol-relative URL
    assert "://" not in html.text
    parser = _Assets()
    parser.feed(html.text)
    assets = [u for u in parser.urls if not u.endswith("/openapi.json")]
    assert assets, "the page loads its script from somewhere"
    assert all(u.startswith("/") and not u.startswith("//") for u in parser.urls), parser.urls
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000, asset
        kind = response.headers["content-type"]
        assert kind.startswith(("text/javascript", "application/javascript", "text/css",
                                "image/")), (asset, kind)  # fmt: skip


def test_swagger_ui_validator_badge_is_off(public: Any) -> None:
    assert '"validatorUrl": null' in public(PEER).get("/docs").text
