"""Preview: the views an audience would receive under a policy, as the very bytes it would get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec

from gateway.disclosure import CompiledPolicy
from gateway.disclosure.diff import render_for
from gateway.leakguard.screen import snapshot_guard
from gateway.model import Snapshot
from gateway.views import AudienceViews, build_views


@dataclass(frozen=True, slots=True)
class Preview:
    audience: str
    policy_version: str
    revision: int
    views: AudienceViews
    leak_hits: tuple[str, ...]  # what the leak guard would withhold


def leak_guard_scan(
    audience: str,
    policy: CompiledPolicy,
    snapshot: Snapshot,
    views: AudienceViews,
) -> tuple[str, ...]:
    """The leak guard's verdict on views exactly as they would be published.

    Called on every preview and on the trial render of every activation: one line per hit,
    naming the view and the class of term and a digest, never the matched value; any hit makes
    an activation refuse and marks a preview as withheld. The terms come from one build per
    snapshot that every audience scanned against it shares: an activation's trial renders
    build it once, not once per audience.
    """
    guard = snapshot_guard(audience, policy, snapshot)
    return tuple(
        f"{view}: {hit.term_class.value} {hit.digest}"
        for view, body in sorted(views.views.items())
        for hit in guard.scan(body.body)
    )


def render_preview(
    policy: CompiledPolicy, snapshot: Snapshot, audience: str, secret: bytes, now: datetime
) -> Preview:
    """Render through the engine and serialise as the view cache does, nothing published."""
    rendered = render_for(policy, snapshot, audience, secret, now)
    views = build_views(audience, AudienceViews(), rendered, snapshot.revision, policy.version)
    return Preview(
        audience=audience,
        policy_version=policy.version,
        revision=snapshot.revision,
        views=views,
        leak_hits=leak_guard_scan(audience, policy, snapshot, views),
    )


def preview_json(preview: Preview, **meta: object) -> bytes:
    """One JSON document; each view's bytes are spliced in unchanged, as the audience gets them."""
    head = msgspec.json.encode(
        {
            **meta,
            "audience": preview.audience,
            "policy_version": preview.policy_version,
            "revision": preview.revision,
            "leak_guard": {"hits": list(preview.leak_hits), "withheld": bool(preview.leak_hits)},
        }
    )
    parts = [
        msgspec.json.encode(name) + b":" + view.body
        for name, view in sorted(preview.views.views.items())
    ]
    return head[:-1] + b',"views":{' + b",".join(parts) + b"}}"
