"""The capstone's grader: the requirements card, and the scenario runner's refusals and verdicts.

Load runs are a second or two each; only the ones that show a verdict the card depends on are
played here (the full run of the worked solution is lab 18's solution notebook, on both backends).
"""

from __future__ import annotations

import pytest

from cacheaside_lab.core.async_cache_aside import AsyncCacheAside
from cacheaside_lab.core.cache_aside import CacheAside
from cacheaside_lab.service.loadgen import KINDS, plan_load
from cacheaside_lab.service.requirements import REQUIREMENTS, RequirementsCard, card_text
from cacheaside_lab.service.scenarios import SCENARIOS, LayerProblem, ServiceDB, run_scenarios
from cacheaside_lab.stores.backend import connect_cache

# The capstone runs every scenario on a cache server of its own: a private redis-server for any real
# backend, so on the cluster backend it would repeat the redis-server runs exactly.
pytestmark = pytest.mark.not_on_cluster("the scenario runner plays on a private redis-server of its own")


def good_layer(db, cache):
    return AsyncCacheAside(cache, loader=db.get_product, loader_many=db.get_products, prefix="capstone:test",
                           ttl=30, ttl_jitter=0.1, negative_ttl=10, protection="single-flight")


class NeverExpires(AsyncCacheAside):
    """A layer whose fills forget the TTL (the plain SET of a hurried cache-aside)."""

    async def store(self, key, raw, px):
        await self.client.set(key, raw)
        self.stats.add(fills=1)
        return True

    async def store_many(self, values):
        for item_id, value in values.items():
            if value is not None:
                await self.client.set(self.key(item_id), self.encode(value))


def test_the_card_prints_every_target():
    text = card_text(REQUIREMENTS)
    for part in ("p99 at 40 requests/s ≤ 0.5", "queries ≤ 0.25", "within 1 s", "within 60 s", "256 KiB",
                 "at most 1 query", "≤ 20 queries/s"):
        assert part in text
    assert REQUIREMENTS.db_capacity_qps == 20


@pytest.mark.parametrize("change, error, message", [
    ({"p99_ratio": 0}, ValueError, "p99_ratio"),
    ({"read_rate": 1000}, ValueError, "at most 200"),
    ({"restart_at": 5.0}, ValueError, "restart_at"),
    ({"missing_share": 1.5}, ValueError, "missing_share"),
    ({"colour": "red"}, TypeError, "no colour"),
])
def test_the_card_refuses_what_it_cannot_measure(change, error, message):
    with pytest.raises(error, match=message):
        REQUIREMENTS.replace(**change)


def test_missing_ids_can_repeat_from_a_pool():
    plan = plan_load(rate=200, duration_s=2, products=100, missing_share=0.5, missing_pool=4, seed=1)
    missing = plan.ids[plan.kinds == KINDS.index("missing")]
    assert set(missing) == {101, 102, 103, 104}
    flood = plan_load(rate=200, duration_s=2, products=100, missing_share=0.5, seed=1)
    walk = flood.ids[flood.kinds == KINDS.index("missing")]
    assert len(set(walk)) == len(walk)  # the default: each missing id different


def test_the_service_db_counts_queries_by_id_and_an_update_returns_its_own_row():
    db = ServiceDB(products=20)
    db.get_product(3)
    db.get_products([3, 4, 99])
    assert db.queries_for([3]) == 2 and db.queries_for([4, 99]) == 2
    row = db.update_product(3, stock=7)
    assert (row["stock"], row["version"]) == (7, 1)
    db.reset_ids()
    assert db.queries_for([3]) == 0
    db.close()


@pytest.mark.parametrize("scenarios, message", [(["steady", "lunch"], "lunch"), ([], "none given")])
def test_unknown_scenarios_are_refused(scenarios, message):
    with pytest.raises(ValueError, match=message):
        run_scenarios(good_layer, scenarios=scenarios)


def test_a_layer_that_cannot_serve_fails_before_any_load(cache):
    with pytest.raises(TypeError, match="make_layer must be a function"):
        run_scenarios(42)

    def stub(db, client):
        raise NotImplementedError("your code here")

    with pytest.raises(NotImplementedError):
        run_scenarios(stub, cache=cache)

    def sync_layer(db, client):
        return CacheAside(connect_cache(), loader=db.get_product, prefix="capstone:test", ttl=30)

    with pytest.raises(LayerProblem, match="async get"):
        run_scenarios(sync_layer, cache=cache)


def test_a_layer_that_never_expires_misses_the_bypass_bound(cache):
    def make_layer(db, client):
        return NeverExpires(client, loader=db.get_product, loader_many=db.get_products, prefix="capstone:test", ttl=30)

    run = run_scenarios(make_layer, scenarios=["steady"], cache=cache)
    bypass = next(target for target in run.targets if target.target == "bypass staleness")
    assert not bypass.held and bypass.measured == float("inf")
    assert "never leave an entry without one" in bypass.look_at
    assert "MISSED steady        bypass staleness" in run.table() and not run.held
    expected = "redis-server (private)" if not type(cache).__module__.startswith("fakeredis") else "fakeredis (private)"
    assert run.backend == expected


def test_every_scenario_is_known_and_in_order():
    assert SCENARIOS == ("warm-up", "steady", "hot key", "write burst", "cache restart", "missing ids")
    assert isinstance(REQUIREMENTS, RequirementsCard)
