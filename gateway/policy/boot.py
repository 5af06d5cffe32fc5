"""At start: the database's active versions serve; files seed it once, later changes are drafts."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from gateway.disclosure import PolicySet, compile_policy, load_policy_dir, parse_policy
from gateway.errors import PolicyError
from gateway.policy.store import Event, NewVersion, PolicyDb

log = logging.getLogger("demarc.policies")

SYSTEM = "demarc"  # who activates the seed versions: nobody but the configuration


def boot(db: PolicyDb, directory: Path) -> PolicySet:
    """The policies to serve at start (blocking)."""
    if db.has_versions():
        reconcile_files(db, directory)
    else:
        seed(db, directory)
    return active_set(db)


def seed(db: PolicyDb, directory: Path) -> None:
    """The very first start: every file becomes version 1 of its audience, all or none."""
    # strict: with no earlier version to fall back on, one bad file stops the start
    loaded = load_policy_dir(directory)
    versions = [
        NewVersion(
            p.policy.audience,
            p.digest,
            p.text,
            f"file:{p.source}",
            None,
            SYSTEM,
            "file",
            None,
            True,
        )
        for p in loaded
    ]
    events = [
        Event(
            "activate",
            f"file:{p.source}",
            p.policy.audience,
            policy_version=p.version,
            digest=p.digest,
            detail={"origin": "file", "seed": True},
        )
        for p in loaded
    ]
    if versions:
        db.add_versions(versions, events, [])
    for p in loaded:
        db.set_file_digest(p.source, p.digest)


def reconcile_files(db: PolicyDb, directory: Path) -> None:
    """A file that changed since the last start is loaded as a draft by ``file:<path>``; it is
    never activated silently. An invalid file is recorded as rejected; what served, serves."""
    active = db.active_versions()
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        source, text = str(path), path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if db.file_digest(source) == digest:
            continue
        author = f"file:{source}"
        try:
            loaded = parse_policy(text, source)
        except PolicyError as exc:
            log.error(
                "%s is invalid and was not loaded; the active version keeps serving:\n%s",
                source,
                exc,
            )
            reason = str(exc)
            db.append_events(
                [
                    Event(
                        "rejected",
                        author,
                        digest=digest,
                        detail={"action": "load", "file": source, "reason": reason},
                    )
                ]
            )
            continue
        audience = loaded.policy.audience
        current = active.get(audience)
        if current is None or current.digest != digest:
            drafts = [d for d in db.drafts(audience) if d.origin == "file" and d.source == source]
            existing = drafts[0] if drafts else None
            authors = existing.authors if existing else ()
            values = {
                "audience": audience,
                "text": text,
                "digest": digest,
                "authors": authors if author in authors else (*authors, author),
                "base": current.id if current else None,
                "origin": "file",
                "source": source,
            }
            event = Event(
                "draft",
                author,
                audience,
                policy_version=loaded.version,
                digest=digest,
                detail={"action": "update" if existing else "create", "origin": "file"},
            )
            draft = db.save_draft(existing, values, event)
            log.warning(
                "%s changed: loaded as draft %d for %s, not activated; review its diff "
                "and activate it through the admin API",
                source,
                draft.id,
                audience,
            )
        db.set_file_digest(source, digest)


def active_set(db: PolicyDb) -> PolicySet:
    compiled = []
    for audience, version in sorted(db.active_versions().items()):
        try:
            compiled.append(
                compile_policy(parse_policy(version.text, f"{audience}@{version.number}"))
            )
        except PolicyError as exc:
            # fail closed: this audience gets no views until a valid version is activated
            log.error(
                "version %d of %s no longer validates; it does not serve:\n%s",
                version.number,
                audience,
                exc,
            )
            db.append_events(
                [
                    Event(
                        "rejected",
                        SYSTEM,
                        audience,
                        digest=version.digest,
                        detail={"action": "load", "reason": str(exc)},
                    )
                ]
            )
    return PolicySet(compiled)
