"""A warm restart: the published views written at a clean stop, read back at the next start.

Rendering every view of 1,020 audiences at 30,000 nodes takes a minute; a gateway restarted for
an upgrade or a configuration change should not be a minute without views. At a clean stop,
when every view reflects the store's revision, the views are written beside the database with
what they were rendered from: the data revision and its per-kind revisions, each audience's
policy version, a digest of the pseudonym key, and the time they were rendered at. The next
start takes them back only if all of that still holds and no clock moment (a window opening, an
alarm leaving a history) passed since: then they are byte for byte what a render would give.
Otherwise, and after a crash (the file is consumed when read), every view renders as usual.

The views were screened by the leak guard when they were rendered; they are not new bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import msgspec

from gateway.views.cache import AudienceViews, ItemView, PageIndex, RenderedView

log = logging.getLogger("demarc.views")

FORMAT = 3  # 2: items are slices of their view's body; 3: views may be packed


class _View(msgspec.Struct, array_like=True):
    data: bytes
    etag: str
    revision: int
    policy_version: str
    keys: list[tuple[str, str]] | None = None
    bounds: list[int] | None = None
    lo: int = 0
    hi: int | None = None
    packed: bool = False


class _Item(msgspec.Struct, array_like=True):
    view: str
    id: str
    start: int  # in the body of the view
    end: int
    etag: str
    revision: int
    policy_version: str


class _Audience(msgspec.Struct, array_like=True):
    views: dict[str, _View]
    items: list[_Item]
    withheld: list[str]


class _File(msgspec.Struct):
    format: int
    revision: int
    kinds: dict[str, int]
    secret: str  # a digest of the pseudonym key, not the key
    rendered_at: datetime
    policies: dict[str, str]  # audience → policy version of its views
    audiences: dict[str, _Audience]


@dataclass(frozen=True)
class Checkpoint:
    revision: int
    kinds: Mapping[str, int]
    rendered_at: datetime
    policies: Mapping[str, str]
    audiences: Mapping[str, AudienceViews]


def secret_digest(secret: bytes) -> str:
    return hashlib.blake2b(secret, digest_size=16, person=b"demarc-ckpt").hexdigest()


def _view(view: RenderedView) -> _View:
    pages = view.pages
    return _View(
        view.data,
        view.etag,
        view.revision,
        view.policy_version,
        list(pages.keys) if pages is not None else None,
        list(pages.bounds) if pages is not None else None,
        view.lo,
        view.hi,
        view.packed,
    )


def _rendered(view: _View) -> RenderedView:
    pages = None
    if view.keys is not None and view.bounds is not None:
        pages = PageIndex([tuple(k) for k in view.keys], view.bounds)  # type: ignore[misc]
    return RenderedView(view.data, view.etag, view.revision, view.policy_version, pages,
                        view.lo, view.hi, view.packed)  # fmt: skip


def _items(
    audience: str, a: _Audience, views: dict[str, RenderedView]
) -> dict[tuple[str, str], ItemView]:
    out = {}
    for i in a.items:
        out[i.view, i.id] = ItemView(
            audience, i.view, views[i.view], i.start, i.end, i.etag, i.revision, i.policy_version
        )
    return out


def _audience(audience: str, a: _Audience) -> AudienceViews:
    views = {name: _rendered(v) for name, v in a.views.items()}
    return AudienceViews(views, _items(audience, a, views), frozenset(a.withheld))


def save(path: Path, checkpoint: Checkpoint, secret: bytes) -> None:
    """Write ``checkpoint`` atomically (a temporary file, fsynced, renamed over the old)."""
    data = _File(
        format=FORMAT,
        revision=checkpoint.revision,
        kinds=dict(checkpoint.kinds),
        secret=secret_digest(secret),
        rendered_at=checkpoint.rendered_at,
        policies=dict(checkpoint.policies),
        audiences={
            audience: _Audience(
                views={name: _view(v) for name, v in views.views.items()},
                items=[
                    _Item(v, i, r.start, r.end, r.etag, r.revision, r.policy_version)
                    for (v, i), r in views.items.items()
                ],
                withheld=sorted(views.withheld),
            )
            for audience, views in checkpoint.audiences.items()
        },
    )
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, msgspec.msgpack.encode(data))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def take(path: Path, secret: bytes) -> Checkpoint | None:
    """Read and remove the checkpoint at ``path``: None when there is none or it cannot be
    used (another format, another pseudonym key, unreadable), said in the log."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    finally:
        path.unlink(missing_ok=True)  # consumed: after a crash, no older views come back
    try:
        data = msgspec.msgpack.decode(raw, type=_File)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("view checkpoint %s unreadable (%s): rendering every view", path, exc)
        return None
    if data.format != FORMAT or data.secret != secret_digest(secret):
        log.info("view checkpoint %s is of another format or key: rendering every view", path)
        return None
    try:
        audiences = {audience: _audience(audience, a) for audience, a in data.audiences.items()}
    except KeyError as exc:  # an item of a view the file does not hold
        log.warning("view checkpoint %s inconsistent (%s): rendering every view", path, exc)
        return None
    return Checkpoint(data.revision, data.kinds, data.rendered_at, data.policies, audiences)
