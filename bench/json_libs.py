"""Which JSON library for the hot paths: orjson and msgspec (stdlib json for scale), same data.

The hot paths are ingest (bytes → values), view serialisation (rendered rows → bytes, once per
view and once per item of each view) and the store (model Structs ↔ JSON). The data is the demo
network: its documents as sources push them, and every view of every demo audience. msgspec is
needed anyway (the internal model is msgspec Structs, the store decodes straight into them;
orjson cannot); the question is whether orjson is fast enough to be worth a second library.
Each figure is the median of several runs; the ratio is what to compare between machines.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leakguard import demo_audiences, demo_snapshot

from gateway.demo.network import build_demo
from gateway.disclosure import Pseudonymizer, audience_key, render
from gateway.model import Topology

NOW = datetime(2026, 11, 28, 10, 17, 33, tzinfo=UTC)
RUNS = 15
REPEAT = 20  # each run handles the data this many times, so a run lasts milliseconds


def median_ms(fn: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(REPEAT):
            fn()
        samples.append((time.perf_counter() - started) * 1000 / REPEAT)
    return statistics.median(samples)


def view_rows() -> list[Any]:
    """Every view's rows and every item of the demo audiences, as the view cache encodes them."""
    snapshot = demo_snapshot()
    out: list[Any] = []
    for audience, policy in demo_audiences():
        pseudonym = Pseudonymizer(audience_key(b"bench-secret", audience))
        for rows in render(policy, snapshot, audience, pseudonym, NOW).values():
            out.append(rows)
            if isinstance(rows, list):
                out.extend(rows)  # each item is encoded on its own too
    return out


def main() -> int:
    documents = [orjson.dumps(d) for d in build_demo(NOW).documents().values()]
    rows = view_rows()
    items = [r for r in rows if isinstance(r, dict) and "id" in r]
    # DESIGN.md's figure: 10,000 small objects, here the demo's own items repeated
    many = [dict(items[i % len(items)], id=f"x-{i}") for i in range(10_000)]
    size_in = sum(map(len, documents)) / 1e6
    size_out = sum(len(orjson.dumps(r)) for r in rows) / 1e6

    encode = msgspec.json.Encoder().encode
    decode = msgspec.json.Decoder().decode
    # the two must agree byte for byte on what the gateway publishes, or ETags would change
    topology = demo_snapshot().topology
    stored = encode(topology)
    same = all(orjson.dumps(r) == encode(r) for r in rows) and orjson.dumps(many) == encode(many)
    same_in = all(orjson.loads(d) == decode(d) for d in documents)
    same_in = same_in and msgspec.json.decode(stored, type=Topology) == topology

    figures = {
        "ingest decode": {
            "orjson": median_ms(lambda: [orjson.loads(d) for d in documents]),
            "msgspec": median_ms(lambda: [decode(d) for d in documents]),
            "json": median_ms(lambda: [json.loads(d) for d in documents]),
        },
        "view encode": {
            "orjson": median_ms(lambda: [orjson.dumps(r) for r in rows]),
            "msgspec": median_ms(lambda: [encode(r) for r in rows]),
            "json": median_ms(
                lambda: [json.dumps(r, separators=(",", ":")).encode() for r in rows]
            ),
        },
        "store encode": {  # orjson knows no Struct: it needs a conversion to builtins first
            "orjson": median_ms(lambda: orjson.dumps(msgspec.to_builtins(topology))),
            "msgspec": median_ms(lambda: encode(topology)),
        },
        "store decode": {  # into the typed, validated model, as the store reads it back
            "orjson": median_ms(lambda: msgspec.convert(orjson.loads(stored), type=Topology)),
            "msgspec": median_ms(lambda: msgspec.json.decode(stored, type=Topology)),
        },
        "10k items": {
            "orjson": median_ms(lambda: orjson.dumps(many)),
            "msgspec": median_ms(lambda: encode(many)),
            "json": median_ms(lambda: json.dumps(many, separators=(",", ":")).encode()),
        },
    }
    print(f"demo documents {size_in:.2f} MB in; {len(rows)} views and items, {size_out:.2f} MB out")
    print(f"identical output bytes: {same}; identical decoded values: {same_in}")
    for path, times in figures.items():
        line = ", ".join(f"{lib} {ms:7.2f} ms" for lib, ms in times.items())
        print(f"{path:14s} {line}; msgspec/orjson {times['msgspec'] / times['orjson']:.2f}")
    return 0 if same and same_in else 1  # the figures decide nothing here: they are read


if __name__ == "__main__":
    raise SystemExit(main())
