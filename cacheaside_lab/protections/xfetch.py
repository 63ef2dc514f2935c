"""XFetch: probabilistic early refresh (Vattani, Chierichetti and Lowenstein, VLDB 2015).

A value is stored with its expiry and with Δ, the time its last recomputation took
(:mod:`.envelope`). On every read, each reader independently decides to recompute early when

    now − Δ · β · ln(rand) ≥ expiry        (rand uniform in (0, 1], β > 0, β = 1 by default)

``−ln(rand)`` is an exponential random number, so a reader far from the expiry almost never
refreshes, and one that is within a few Δ of it quite often does: the chance is
``exp(−(expiry − now) / (Δβ))``. Under steady traffic one reader usually fires a little before
the expiry and refreshes while everyone else keeps hitting, so the key never goes cold. The paper
shows that when requests are frequent (rate × Δ large) the mean number of recomputations per
expiry is about e^(1/β) (2.7 at β = 1), however high the rate, against about 1 + rate × Δ with no
protection. Larger β refreshes earlier: fewer duplicates, a little more work spent refreshing
values that were still good.

There is no coordination at all (no lock, no Redis round trip beyond the GET), which is its
strength; its limit is that it needs traffic *before* the expiry. A burst that arrives on a key
that is already gone is a plain herd.
"""

from __future__ import annotations

import random

import numpy as np

from ..core.validation import require_positive
from .base import Protection
from .envelope import EnvelopeMixin


def should_refresh(now, delta, beta, expiry, rand):
    """XFetch's test. Works on numbers and on numpy arrays alike (the simulator uses arrays)."""
    return now - delta * beta * np.log(rand) >= expiry


def refresh_probability(time_left, delta, beta):
    """The chance one read refreshes early, ``time_left`` seconds before the expiry."""
    time_left = np.asarray(time_left, dtype=float)
    scale = np.asarray(delta, dtype=float) * beta
    with np.errstate(divide="ignore", over="ignore"):
        p = np.exp(-np.maximum(time_left, 0.0) / scale)
    return np.where(scale > 0, p, (time_left <= 0).astype(float))


class XFetch(EnvelopeMixin, Protection):
    """``CacheAside(..., protection="xfetch")``."""

    name = "xfetch"

    def __init__(self, *, beta: float = 1.0, clock=None, seed: int | None = None):
        super().__init__()
        self.beta = require_positive(
            "beta", beta, why="β scales how early readers refresh; the paper's default is 1."
        )
        self._rng = random.Random(seed)
        self._init_envelope(clock)

    def rand(self) -> float:
        return 1.0 - self._rng.random()  # uniform in (0, 1]: ln(rand) is finite and ≤ 0

    def on_hit(self, ca, item_id, key: str, stored):
        if should_refresh(self.clock(), stored["delta"], self.beta, stored["expires_at"], self.rand()):
            ca.stats.add(misses=1)
            self.stats.add(refreshes=1)
            return self.load_and_store(ca, item_id, key)
        ca.stats.add(hits=1)
        return stored["value"]
