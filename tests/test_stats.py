"""stats.py: the counters' ratios and fill times."""

from __future__ import annotations

import pytest

from cacheaside_lab.core.stats import CacheStats


def test_stats_ratios_and_fill_time():
    stats = CacheStats()
    assert stats.hit_ratio == 0.0 and stats.mean_fill_ms == 0.0
    stats.add(hits=3, misses=1, loader_calls=1)
    stats.record_fill_time(0.020)
    stats.record_fill_time(0.040)
    assert stats.hit_ratio == 0.75 and stats.miss_ratio == 0.25
    assert stats.mean_fill_ms == pytest.approx(30.0) and stats.max_fill_ms == pytest.approx(40.0)
