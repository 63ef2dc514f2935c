"""Lab 18's checks: the worked answers pass, and plausible wrong ones fail with a pointed hint.

The caching layer's check runs real load (a second or two per scenario, baseline included), so
each wrong layer is played only through the scenario that catches it: a layer with no TTL
(steady: the bypass bound), update on write (the write burst), no herd protection (the hot key)
and no negative caching (missing ids). Each fails naming its mistake; the full run of the worked
solution is the solution notebook's, on both backends.
"""

from __future__ import annotations

import pytest

from cacheaside_lab.core.async_cache_aside import AsyncCacheAside
from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks import lab18

# The capstone runs every scenario on a cache server of its own: a private redis-server for any real
# backend, so on the cluster backend it would repeat the redis-server runs exactly.
pytestmark = pytest.mark.not_on_cluster("the scenario runner plays on a private redis-server of its own")

DESIGN = {"ttl": 30, "negative_ttl": 10, "protection": "single-flight", "write_strategy": "delete",
          "near_cache": False, "split_fields": False, "breaker": False}


def layer(**changes):
    settings = dict(prefix="capstone:product", ttl=30, ttl_jitter=0.1, negative_ttl=10, protection="single-flight")
    settings.update(changes)

    def make_layer(db, cache):
        return AsyncCacheAside(cache, loader=db.get_product, loader_many=db.get_products, **settings)

    return make_layer


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as raised:
        check(*args, **kwargs)
    return str(raised.value)


# -- exercise 1 (design) -------------------------------------------------------------------------

def test_the_worked_design_passes(capsys):
    lab18.check_design(DESIGN)
    assert "passed" in capsys.readouterr().out
    lab18.check_design({**DESIGN, "breaker": True, "protection": "lease", "ttl": 45})


@pytest.mark.parametrize("change, words", [
    ({"ttl": 3600}, "nightly import"),
    ({"ttl": 5}, "42% of reads would reach the database"),
    ({"negative_ttl": None}, "every request for an id that does not exist is a query"),
    ({"negative_ttl": 0.2}, "50% still reach the database"),
    ({"negative_ttl": 40}, "stays 'not found'"),
    ({"protection": None}, "1 + r·Δ ≈ 3.5 queries"),
    ({"write_strategy": "update"}, "may carry the older row"),
    ({"write_strategy": "ttl-only"}, "old row is served until the TTL"),
    ({"near_cache": True}, "not deleted by a write another process handles"),
    ({"split_fields": True}, "doubles the keys"),
])
def test_each_wrong_design_choice_is_costed_in_the_cards_numbers(change, words):
    assert words in failure(lab18.check_design, {**DESIGN, **change})


@pytest.mark.parametrize("design, words", [(..., "no answer yet"), ({"ttl": 30}, "missing"),
                                           ({**DESIGN, "ttl": "long"}, "not a number")])
def test_an_incomplete_design_card_says_what_is_missing(design, words):
    assert words in failure(lab18.check_design, design)


# -- exercise 2: the caching layer -------------------------------------------------------------

def test_the_worked_layer_holds_the_count_targets(cache, capsys):
    lab18.check_caching_layer(layer(), cache=cache, scenarios=["hot key", "write burst"])
    out = capsys.readouterr().out
    assert "MISSED" not in out and "passed" in out
    assert lab18.last_run().held


@pytest.mark.parametrize("wrong, scenario, words", [
    (layer(ttl=3600, negative_ttl=10), "steady", "bypass staleness"),
    (layer(write_strategy="update"), "write burst", "update-on-write"),
    (layer(protection=None), "hot key", "Protect the refill"),
    (layer(negative_ttl=None), "missing ids", "negative_ttl"),
], ids=["no TTL (an hour)", "update on write", "no herd protection", "no negative caching"])
def test_a_wrong_layer_misses_the_target_its_mistake_costs(cache, wrong, scenario, words):
    message = failure(lab18.check_caching_layer, wrong, cache=cache, scenarios=[scenario])
    assert "MISSED" in message and words in message.split("Hint:")[1]


def test_the_stub_and_a_sync_layer_fail_before_any_load(cache):
    def stub(db, client):
        raise NotImplementedError("your code here")

    assert "NotImplementedError" in failure(lab18.check_caching_layer, stub, cache=cache)

    def sync(db, client):
        from cacheaside_lab.core.cache_aside import CacheAside
        from cacheaside_lab.stores.backend import connect_cache

        return CacheAside(connect_cache(), loader=db.get_product, prefix="capstone:product", ttl=30)

    assert "needs an async get" in failure(lab18.check_caching_layer, sync, cache=cache)
    assert "needs a function" in failure(lab18.check_caching_layer, 7)


# -- exercise 3 (break it) -----------------------------------------------------------------------

def test_a_walk_of_missing_ids_breaks_the_given_layer(cache, capsys):
    lab18.check_attack({"scenario": "missing ids", "missing_pool": 500}, cache=cache)
    assert "passed" in capsys.readouterr().out


def test_an_attack_the_given_layer_copes_with_does_not_pass(cache):
    message = failure(lab18.check_attack, {"scenario": "missing ids", "missing_pool": 2}, cache=cache)
    assert "given_layer copes with that" in message and "cached 'not found'" in message


@pytest.mark.parametrize("attack, words", [
    (..., "no answer yet"),
    ({"scenario": "lunch", "zipf": 1}, "needs a 'scenario'"),
    ({"scenario": "steady", "read_rate": 500}, "may change only"),
    ({"scenario": "steady", "zipf": 9}, "outside 0 to 2"),
    ({"scenario": "missing ids", "missing_pool": 2.5}, "outside 1 to 1000"),
])
def test_a_malformed_attack_is_refused_without_a_run(attack, words):
    assert words in failure(lab18.check_attack, attack)


# -- exercises 4 and 5 (questions) -------------------------------------------------------------

@pytest.mark.parametrize("answer, words", [("a", "measures every request"), ("d", "fairer, not looser"),
                                           (None, "no answer yet")])
def test_wrong_reasons_for_the_ratio_are_explained(answer, words):
    assert words in failure(lab18.check_ratio_question, answer)


@pytest.mark.parametrize("guess, words", [(1, "too low"), (25, "too high")])
def test_the_herd_estimate_says_which_way_it_is_off(guess, words):
    assert words in failure(lab18.check_herd_question, guess)
    lab18.check_herd_question(3.5)
