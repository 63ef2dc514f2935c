"""Lab 17's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import pytest
import redis
from redis.crc import key_slot

from cacheaside_lab.core.keys import root_namespace
from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab17 import (
    LAB,
    SlotStrictClient,
    category_traffic,
    check_lease_layout,
    check_lost_shard_estimate,
    check_pinned_categories,
    check_read_many,
)


def fails(check, *answers, cache=None):
    with pytest.raises(CheckFailed) as failure:
        check(*answers, **({"cache": cache} if cache is not None else {}))
    return str(failure.value)


# -- exercise 1: one MGET per slot ------------------------------------------------------------------


def per_slot(client, keys):
    groups = {}
    for key in keys:
        groups.setdefault(key_slot(key.encode()), []).append(key)
    found = {}
    for group in groups.values():
        found.update(zip(group, client.mget(group)))
    return [found[key] for key in keys]


def one_mget(client, keys):  # what works on one server
    return client.mget(keys)


def one_get_each(client, keys):  # correct values, a round trip per key
    return [client.get(key) for key in keys]


def by_whole_name(client, keys):  # ignores the hash tag: keys of one slot end up in several groups
    import binascii

    groups = {}
    for key in keys:
        groups.setdefault(binascii.crc_hqx(key.encode(), 0) % 16384, []).append(key)
    found = {}
    for group in groups.values():
        try:
            found.update(zip(group, client.mget(group)))
        except redis.ResponseError:
            found.update((key, client.get(key)) for key in group)
    return [found[key] for key in keys]


def grouped_but_reordered(client, keys):  # one MGET per slot, values in group order
    groups = {}
    for key in keys:
        groups.setdefault(key_slot(key.encode()), []).append(key)
    return [value for group in groups.values() for value in client.mget(group)]


def test_one_mget_per_slot_passes(cache, capsys):
    check_read_many(per_slot, cache=cache)
    assert "6 MGETs, one per slot" in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected", [
    (one_mget, "CROSSSLOT"),
    (one_get_each, "single GETs"),
    (by_whole_name, "some slot was read more than once"),
    (grouped_but_reordered, "not the ones stored under their keys"),
])
def test_wrong_multi_key_reads_fail_with_a_pointed_hint(cache, answer, expected):
    assert expected in fails(check_read_many, answer, cache=cache)


def test_the_strict_client_refuses_a_cross_slot_mget_as_a_cluster_does(cache):
    strict = SlotStrictClient(cache)
    start = f"{root_namespace()}{LAB}:"
    assert strict.mget([f"{start}a:{{1}}", f"{start}b:{{1}}"]) == [None, None]
    with pytest.raises(redis.ResponseError, match="CROSSSLOT"):
        strict.mget([f"{start}a:{{1}}", f"{start}a:{{2}}"])


# -- exercise 2 (design): value and lease in one slot ------------------------------------------------

START = f"{root_namespace()}{LAB}:"


@pytest.mark.parametrize("value_key, lease_key", [
    (lambda i: f"{START}product:{{{i}}}", lambda i: f"{START}product:{{{i}}}:lease"),
    (lambda i: f"{START}{{p{i}}}:value", lambda i: f"{START}{{p{i}}}:lease"),
])
def test_tags_by_item_pass(value_key, lease_key, capsys):
    check_lease_layout(value_key, lease_key)
    assert "busiest primary holds" in capsys.readouterr().out


@pytest.mark.parametrize("value_key, lease_key, expected", [
    # no tag at all: the lease hashes elsewhere, the script is refused
    (lambda i: f"{START}product:{i}", lambda i: f"{START}product:{i}:lease", "different slots"),
    # the tag only on the value
    (lambda i: f"{START}product:{{{i}}}", lambda i: f"{START}lease:{i}", "different slots"),
    # one tag for everything: one slot, one primary
    (lambda i: f"{START}{{product}}:{i}", lambda i: f"{START}{{product}}:{i}:lease", "holds 100% of the items"),
    # outside the namespace
    (lambda i: f"product:{{{i}}}", lambda i: f"product:{{{i}}}:lease", "does not start with"),
    # the same key for both
    (lambda i: f"{START}product:{{{i}}}", lambda i: f"{START}product:{{{i}}}", "the same key"),
])
def test_wrong_layouts_fail_with_a_pointed_hint(value_key, lease_key, expected):
    assert expected in fails(check_lease_layout, value_key, lease_key)


# -- exercise 3 (break it): categories that pin one shard ----------------------------------------------


def test_three_categories_on_shard_0_pass(capsys):
    check_pinned_categories(["bags", "scarves", "shirts"])
    assert "100% of the reads" in capsys.readouterr().out
    assert category_traffic(["bags", "scarves", "shirts"]).tolist() == pytest.approx([1.0, 0.0, 0.0])


@pytest.mark.parametrize("answer, expected", [
    (["shoes", "hats", "bags"], "land on shards [1, 2, 0]"),  # ordinary names spread
    (["bags", "bags", "bags"], "named twice"),  # one category three times is not a layout problem
    (["bags", "scarves"], "2 categories"),  # too few
    ("bags", "not a list"),
    (["bag s", "x", "y"], "not a category name"),
    (..., "no answer yet"),
])
def test_wrong_category_sets_fail_with_a_pointed_hint(answer, expected):
    assert expected in fails(check_pinned_categories, answer)


# -- exercise 4 (question) ------------------------------------------------------------------------


def test_the_estimate_passes_near_20_6(capsys):
    check_lost_shard_estimate(20)
    assert "×20.6" in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected", [
    (50, "too high"),  # the whole cache lost: 1 / 0.02
    (20.0 * 2, "too high"),
    (0.4, "too low"),  # the dead shard's share, not a factor
    (1.4, "too low"),  # 1 + 0.4: as if the shard's reads only added themselves
    ("twenty", "not a finite number"),
])
def test_wrong_estimates_fail_with_a_pointed_hint(answer, expected):
    assert expected in fails(check_lost_shard_estimate, answer)
