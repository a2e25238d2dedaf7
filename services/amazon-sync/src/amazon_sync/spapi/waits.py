"""Waiting that a stop can cut short, and the backoff between tries (exponential, with full jitter)."""

from __future__ import annotations

import random
import threading


class Stopped(Exception):
    """A wait was cut short by the stop event: the job is being cancelled or the worker stops."""


def pause(stop: threading.Event | None, seconds: float) -> None:
    """Wait `seconds` (wall time); `Stopped` at once when `stop` is or becomes set."""
    if stop is None:
        stop = threading.Event()
    if stop.wait(max(seconds, 0.0)):
        raise Stopped


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait after failed try number `attempt` (1-based): uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return (rng or random).uniform(0.0, min(cap, base * 2 ** (attempt - 1)))
