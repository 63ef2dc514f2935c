"""Lab 16's checks reject plausible wrong async read paths, flights, designs and patterns, each with a
pointed hint, on both backends; the reference answers pass."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab16 import (
    TTL_SECONDS,
    check_async_read_path,
    check_closed_loop,
    check_fleet_loads,
    check_single_flight,
    check_stall_pattern,
    check_worker_protection,
    product_key,
)


def failure_of(check, answer, cache):
    with pytest.raises(CheckFailed) as failure:
        check(answer, cache=cache)
    text = str(failure.value)
    assert text.splitlines()[0].endswith("not passed yet")
    return text


# -- exercise 1: the async read path ------------------------------------------------------------


async def good_read(cache, db, product_id):
    key = product_key(product_id)
    try:
        cached = await cache.get(key)
    except redis.RedisError:
        return await asyncio.to_thread(db.get_product, product_id)
    if cached is not None:
        return json.loads(cached)
    row = await asyncio.to_thread(db.get_product, product_id)
    if row is not None:
        try:
            await cache.set(key, json.dumps(row), ex=TTL_SECONDS)
        except redis.RedisError:
            pass
    return row


async def read_that_blocks_the_loop(cache, db, product_id):
    key = product_key(product_id)
    try:
        cached = await cache.get(key)
    except redis.RedisError:
        return db.get_product(product_id)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)  # the sync call inside a coroutine
    if row is not None:
        await cache.set(key, json.dumps(row), ex=TTL_SECONDS)
    return row


async def read_without_ttl(cache, db, product_id):
    key = product_key(product_id)
    cached = await cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = await asyncio.to_thread(db.get_product, product_id)
    await cache.set(key, json.dumps(row))
    return row


async def read_that_stores_repr(cache, db, product_id):
    key = product_key(product_id)
    cached = await cache.get(key)
    if cached is not None:
        return eval(cached)  # noqa: S307 - the mistake under test
    row = await asyncio.to_thread(db.get_product, product_id)
    await cache.set(key, str(row), ex=TTL_SECONDS)
    return row


async def read_that_lets_cache_errors_out(cache, db, product_id):
    key = product_key(product_id)
    cached = await cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = await asyncio.to_thread(db.get_product, product_id)
    if row is not None:
        await cache.set(key, json.dumps(row), ex=TTL_SECONDS)
    return row


async def read_that_never_hits(cache, db, product_id):
    row = await asyncio.to_thread(db.get_product, product_id)
    if row is not None:
        await cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return row


async def read_that_caches_none_as_null(cache, db, product_id):
    key = product_key(product_id)
    cached = await cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = await asyncio.to_thread(db.get_product, product_id)
    await cache.set(key, json.dumps(row), ex=TTL_SECONDS)
    return row or {}  # "never return None"


def sync_read(cache, db, product_id):
    return db.get_product(product_id)


@pytest.mark.parametrize(
    "read_path, expected",
    [
        (read_that_blocks_the_loop, "held the event loop"),
        (read_without_ttl, "the entry has no expiry"),
        (read_that_stores_repr, "not the row as JSON"),
        (read_that_lets_cache_errors_out, "raised ConnectionError"),
        (read_that_never_hits, "cost 2 database queries"),
        (read_that_caches_none_as_null, "not None"),
        (sync_read, "plain function, not a coroutine function"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_read_paths_fail_with_a_pointed_message(cache, read_path, expected):
    assert expected in failure_of(check_async_read_path, read_path, cache)


def test_the_blocking_read_path_is_told_about_to_thread(cache):
    assert "asyncio.to_thread" in failure_of(check_async_read_path, read_that_blocks_the_loop, cache)


def test_a_read_path_that_never_returns_fails_on_its_deadline(cache, monkeypatch):
    from cacheaside_lab.course.checks import lab16

    monkeypatch.setattr(lab16, "CALL_DEADLINE_S", 0.2)

    async def hangs(cache, db, product_id):
        await asyncio.Event().wait()

    assert "did not return within 0.2 s" in failure_of(check_async_read_path, hangs, cache)


def test_the_reference_read_path_passes(cache, capsys):
    check_async_read_path(good_read, cache=cache)
    assert "passed" in capsys.readouterr().out


# -- exercise 2: single-flight -----------------------------------------------------------------


class GoodFlight:
    def __init__(self):
        self.flights = {}

    async def get(self, key, load):
        task = self.flights.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self.flights[key] = task
            task.add_done_callback(lambda done: self.flights.pop(key, None))
        return await task


class NoSharing(GoodFlight):
    async def get(self, key, load):
        return await load()


class StoresTheTaskTooLate(GoodFlight):
    async def get(self, key, load):
        task = self.flights.get(key)
        if task is not None:
            return await task
        value = await load()  # the others arrive while this runs and find nothing
        self.flights[key] = asyncio.ensure_future(asyncio.sleep(0, value))
        return value


class OneFlightForEveryKey(GoodFlight):
    async def get(self, key, load):
        return await super().get("everything", load)


class OneLoadAtATime(GoodFlight):
    def __init__(self):
        super().__init__()
        self.lock = asyncio.Lock()

    async def get(self, key, load):
        task = self.flights.get(key)
        if task is None:
            async with self.lock:  # "protect the database": one load at a time, any key
                task = self.flights.get(key)
                if task is None:
                    task = asyncio.ensure_future(load())
                    self.flights[key] = task
                    try:
                        return await task
                    finally:
                        del self.flights[key]
        return await task


class NeverForgets(GoodFlight):
    async def get(self, key, load):
        if key not in self.flights:
            self.flights[key] = asyncio.ensure_future(load())
        return await self.flights[key]


class ForgetsOnlyOnSuccess(GoodFlight):
    async def get(self, key, load):
        task = self.flights.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self.flights[key] = task
            value = await task
            del self.flights[key]  # never reached when the load raises
            return value
        return await task


class PlainGet(GoodFlight):
    def get(self, key, load):
        return None


@pytest.mark.parametrize(
    "flight, expected",
    [
        (NoSharing, "load() ran 20 times"),
        (StoresTheTaskTooLate, "the first await, or the others will not see it"),
        (OneFlightForEveryKey, "got the other key's value"),
        (OneLoadAtATime, "loaded one after the other"),
        (NeverForgets, "without loading again"),
        (ForgetsOnlyOnSuccess, "failed or not"),
        (PlainGet, "plain function"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_flights_fail_with_a_pointed_message(cache, flight, expected):
    assert expected in failure_of(check_single_flight, flight, cache)


def test_the_reference_flight_passes(cache, capsys):
    check_single_flight(GoodFlight, cache=cache)
    assert "passed" in capsys.readouterr().out


# -- exercise 3 (design): the protection across workers ---------------------------------------------


@pytest.mark.parametrize(
    "design, expected",
    [
        ({"protection": "single-flight"}, "loaded the key 4 times"),
        ({"protection": "none"}, "Without a protection"),
        ({"protection": "lock", "expiry_ms": 200}, "expired after 200 ms"),
        ({"protection": "lease", "expiry_ms": 700}, "little room"),
        ({"protection": "lock", "expiry_ms": 10_000}, "more than the 2000 ms allowed"),
        ({"protection": "lock"}, "needs expiry_ms"),
        ({"protection": "mutex", "expiry_ms": 1000}, "not one of the protections"),
        ("lock", "not a dict"),
    ],
    ids=str,
)
def test_wrong_designs_fail_with_a_pointed_message(cache, design, expected):
    assert expected in failure_of(check_worker_protection, design, cache)


@pytest.mark.parametrize("design", [{"protection": "lock", "expiry_ms": 1500}, {"protection": "lease", "expiry_ms": 1000}])
def test_a_redis_lock_or_lease_with_a_sound_expiry_passes(cache, capsys, design):
    check_worker_protection(design, cache=cache)
    assert "one load for 20 requests over 4 workers" in capsys.readouterr().out


# -- exercise 4 (break it): the stall pattern ---------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ([(0, 1), (10, 2), (20, 3)], "every request was a hit"),
        ([(0, 50), (10, 60)], "every request was a miss"),
        ([(0, 50), (600, 3)], "no hit arrived while a load was running"),
        ([(0, 3), (50, 50)], "no hit arrived while a load was running"),
        ([(0, 500)], "not a product id from 1 to 100"),
        ([(5000, 3)], "not a time from 0 to 1000 ms"),
        ([], "not a list of 1 to 10 requests"),
    ],
    ids=str,
)
def test_patterns_that_show_no_stall_fail_with_a_pointed_message(cache, pattern, expected):
    assert expected in failure_of(check_stall_pattern, pattern, cache)


def test_a_hit_during_a_miss_shows_the_stall_and_the_fix(cache, capsys):
    check_stall_pattern([(0, 50), (100, 3), (120, 4)], cache=cache)
    out = capsys.readouterr().out
    assert "2 of 2 hits waited" in out and "0 of 2 waited" in out


# -- exercises 5 and 6 (questions) --------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [(1, "too low"), (8, "too low"), (600, "too high"), (None, "no answer yet")])
def test_wrong_fleet_estimates_are_explained(cache, given, expected):
    assert expected in failure_of(check_fleet_loads, given, cache)


def test_the_fleet_estimate_passes(cache, capsys):
    check_fleet_loads(24, cache=cache)
    assert "3 × 8 = 24" in capsys.readouterr().out


@pytest.mark.parametrize("given, expected", [("a", "how precise"), ("c", "slower, if anything"), ("d", "no such rule")])
def test_wrong_closed_loop_answers_are_explained(cache, given, expected):
    assert expected in failure_of(check_closed_loop, given, cache)


def test_the_closed_loop_answer_passes(cache, capsys):
    check_closed_loop("b", cache=cache)
    assert "slows down with the service" in capsys.readouterr().out
