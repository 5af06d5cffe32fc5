"""Live link state and available bandwidth: what every topology mode needs, without numpy."""

from __future__ import annotations

import math

from gateway.model.linklive import LinkState

__all__ = ["LinkState", "available_bps"]


def available_bps(capacity_bps: float | None, state: LinkState | None) -> float | None:
    """capacity x (1 - utilisation/100) when utilisation is known, else the capacity."""
    if capacity_bps is None or state is None or state.utilisation_pct is None:
        return capacity_bps
    if not math.isfinite(state.utilisation_pct):  # a broken sample says nothing
        return capacity_bps
    return capacity_bps * (1.0 - min(max(state.utilisation_pct, 0.0), 100.0) / 100.0)
