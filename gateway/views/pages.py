"""Pages of a list view: keyset slices of the rendered, leak-scanned body, never new content.

A list view's body is ``{…envelope…,"items":[i0,i1,…]}``, scanned whole by the leak guard
before it is published. Its index keeps each item's sort key and where the item's bytes start
in that body. A page is then the envelope up to ``[``, a contiguous run of items cut out of the
very same bytes, ``]``, an optional ``"next_cursor"`` and ``}``: everything in it but the
cursor is a substring of approved bytes, and the cursor only encodes the sort key of an item
on the page (``cursor.py``). A term the guard looks for cannot appear in a substring of a body
it found clean.

Keyset, not offsets: a page starts after a key, so items added or removed before it between
two requests shift nothing, and every item present throughout is returned exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import groupby, pairwise

#: (published id, tie-break): the order of a list view. The tie-break is a digest of the
#: item's bytes and an ordinal (among byte-identical items); in a PageIndex it is "" for an
#: id no other item has, where it decides nothing, and computed only for a cursor
Key = tuple[str, str]


def order_items(ids: list[str], parts: list[bytes]) -> tuple[list[Key], list[bytes]]:
    """Keys in view order, with ``parts`` (the encoded items, already sorted by id) reordered
    where ids tie so that the keys strictly increase."""
    if all(a < b for a, b in pairwise(ids)):
        return [(i, "") for i in ids], parts  # the usual case: ids are unique
    keys: list[Key] = []
    ordered: list[bytes] = []
    pos = 0
    for ident, group in groupby(ids):
        size = len(list(group))
        run = parts[pos : pos + size]
        pos += size
        if size == 1:
            keys.append((ident, ""))
            ordered.append(run[0])
            continue
        # a digest of the published bytes: the same item gets the same place on every render
        tagged = sorted((hashlib.sha256(p).hexdigest()[:16], p) for p in run)
        seen: dict[str, int] = {}
        for digest, part in tagged:
            # byte-identical items cannot be told apart; an ordinal keeps their keys distinct
            n = seen[digest] = seen.get(digest, -1) + 1
            keys.append((ident, _tie(digest, n)))
            ordered.append(part)
    return keys, ordered


def tie_break(item: bytes, ordinal: int) -> str:
    """The tie-break of an item among items of the same id (a unique id's too: its key must
    still hold when another item with that id appears)."""
    return _tie(hashlib.sha256(item).hexdigest()[:16], ordinal)


def _tie(digest: str, ordinal: int) -> str:
    return f"{digest}.{ordinal:06d}"


def bounds_of(parts: Sequence[bytes], base: int) -> list[int]:
    """Start offsets of each item in ``[p0,p1,…]`` placed at ``base`` of a body, and the end."""
    out = [base + 1]
    at = base + 1
    for part in parts:
        at += len(part) + 1
        out.append(at)
    return out


def etag_of(body: bytes) -> str:
    """A strong ETag: the first 128 bits of the body's SHA-256 (as the audit records it)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
