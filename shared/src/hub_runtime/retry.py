"""Bounded exponential backoff with full jitter."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempt` (1-based): uniform in [base/2, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return (rng or random).uniform(min(base / 2, ceiling), ceiling)
