"""The capstone's product API and its runner: real HTTP on loopback, on both cache backends.

The API answers, says 404 in JSON for a missing id, reads a listing in one go, and a write reaches
the database and then the cache by the write strategy. The runner serves on a free 127.0.0.1 port,
refuses any other host, and leaves no thread behind when it stops.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from cacheaside_lab.core.async_cache_aside import AsyncCacheAside
from cacheaside_lab.core.cache_aside import CacheAside
from cacheaside_lab.service.app import MAX_IDS_PER_LISTING, NoCache, SyncCacheAdapter, make_app
from cacheaside_lab.service.runner import require_loopback, running_services, start_service, stop_all_services
from cacheaside_lab.stores.backend import connect_async_cache, connect_cache
from cacheaside_lab.stores.db import ProductDB


@pytest.fixture
def db():
    database = ProductDB(products=50, latency_ms=0)
    yield database
    database.close()


def layer_over(cache, db, **settings):
    return SyncCacheAdapter(CacheAside(cache, loader=db.get_product, loader_many=db.get_products,
                                       prefix="service-test", ttl=60, **settings))


def service_threads() -> set[str]:
    return {thread.name for thread in threading.enumerate() if thread.name.startswith(("service-", "load-generator"))}


def test_reads_hit_the_cache_after_the_first_miss(cache, db):
    layer = layer_over(cache, db)
    with start_service(make_app(db, layer)) as service, httpx.Client(base_url=service.url) as client:
        first = client.get("/products/7")
        second = client.get("/products/7")
        stats = client.get("/stats").json()
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == db.current(7)
    assert (stats["hits"], stats["misses"], stats["db_queries"]) == (1, 1, 1)
    assert stats["reads"] == 2 and stats["layer"] == "sync CacheAside in threads"


def test_a_missing_id_is_a_json_404(cache, db):
    with start_service(make_app(db, layer_over(cache, db))) as service:
        response = httpx.get(f"{service.url}/products/999")
        stats = httpx.get(f"{service.url}/stats").json()
    assert response.status_code == 404
    assert response.json() == {"detail": "no product with id 999", "id": 999}
    assert stats["not_found"] == 1


def test_a_listing_reads_many_ids_in_one_query(cache, db):
    with start_service(make_app(db, layer_over(cache, db))) as service, httpx.Client(base_url=service.url) as client:
        listing = client.get("/products", params={"ids": "1, 2,3,999,2"}).json()
        queries = client.get("/stats").json()["db_queries"]
        too_many = client.get("/products", params={"ids": ",".join(map(str, range(1, MAX_IDS_PER_LISTING + 2)))})
        not_ids = client.get("/products", params={"ids": "1,two"})
        empty = client.get("/products", params={"ids": ","})
    assert sorted(listing["products"]) == ["1", "2", "3"] and listing["missing"] == [999]
    assert listing["products"]["2"] == db.current(2)
    assert queries == 1  # loader_many: one query for the four distinct ids
    assert too_many.status_code == 422 and f"at most {MAX_IDS_PER_LISTING}" in too_many.json()["detail"]
    assert not_ids.status_code == 422 and empty.status_code == 422


@pytest.mark.parametrize("strategy", ["delete", "update", "ttl-only"])
def test_a_write_reaches_the_database_then_the_cache_by_its_strategy(cache, db, strategy):
    layer = layer_over(cache, db, write_strategy=strategy)
    with start_service(make_app(db, layer)) as service, httpx.Client(base_url=service.url) as client:
        before = client.get("/products/5").json()
        written = client.put("/products/5", json={"stock": before["stock"] + 1})
        after = client.get("/products/5").json()
        stats = client.get("/stats").json()
    assert written.status_code == 200 and written.json()["version"] == before["version"] + 1
    assert db.current(5)["stock"] == before["stock"] + 1 and stats["write_strategy"] == strategy
    if strategy == "ttl-only":
        assert after == before  # the cache keeps the old row until its TTL: the stale read
    else:
        assert after == db.current(5)
    if strategy == "delete":
        assert stats["misses"] == 2  # the write deleted the key, so the next read missed
    if strategy == "update":
        assert stats["misses"] == 1 and stats["hits"] == 1


def test_bad_writes_are_refused_with_a_reason(db):
    with start_service(make_app(db)) as service, httpx.Client(base_url=service.url) as client:
        unknown = client.put("/products/5", json={"colour": "red"})
        nothing = client.put("/products/5", json={})
        missing = client.put("/products/999", json={"stock": 1})
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
    assert nothing.status_code == 422
    assert missing.status_code == 404 and db.writes == 1  # the one attempt on a missing row


def test_without_a_cache_every_read_is_a_query(db):
    with start_service(make_app(db, NoCache(db))) as service, httpx.Client(base_url=service.url) as client:
        for _ in range(3):
            assert client.get("/products/9").status_code == 200
        stats = client.get("/stats").json()
    assert (stats["db_queries"], stats["hits"], stats["misses"]) == (3, 0, 3)


def test_a_failing_layer_is_a_500_that_names_the_error(db):
    class Broken:
        async def get(self, item_id):
            raise RuntimeError("the layer broke")

        async def get_many(self, item_ids):
            return {}

        async def invalidate(self, item_id):
            return False

    with start_service(make_app(db, Broken())) as service:
        response = httpx.get(f"{service.url}/products/1")
        stats = httpx.get(f"{service.url}/stats").json()
    assert response.status_code == 500 and "the layer broke" in response.json()["detail"]
    assert stats["server_errors"] == 1 and stats["hits"] == 0  # a layer that counts nothing reads 0


def test_make_app_refuses_what_cannot_serve(cache, db):
    sync_layer = CacheAside(cache, loader=db.get_product, prefix="service-test", ttl=60)
    with pytest.raises(TypeError, match="async get.*SyncCacheAdapter"):
        make_app(db, sync_layer)
    with pytest.raises(TypeError, match="ProductDB"):
        make_app(object())
    with pytest.raises(ValueError, match="write_strategy"):
        make_app(db, write_strategy="write-behind")
    with pytest.raises(ValueError, match="threads"):
        make_app(db, threads=0)
    with pytest.raises(TypeError, match="CacheAside"):
        SyncCacheAdapter(object())


def test_the_runner_stops_and_leaves_no_thread(db):
    before = service_threads()
    service = start_service(lambda: make_app(db))  # a factory works too
    assert service.running and service.url.startswith("http://127.0.0.1:")
    assert service in running_services()
    assert httpx.get(f"{service.url}/products/1").status_code == 200
    service.stop()
    assert not service.running and service not in running_services()
    assert service_threads() == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.url}/products/1", timeout=1.0)


def test_stop_all_services_stops_every_one(db):
    services = [start_service(make_app(db)) for _ in range(2)]
    assert services[0].port != services[1].port
    assert stop_all_services() >= 2
    assert not any(service.running for service in services) and running_services() == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", ""])
def test_the_runner_refuses_a_host_that_is_not_loopback(db, host):
    with pytest.raises(ValueError, match="loopback"):
        start_service(make_app(db), host=host)


def test_loopback_names_are_accepted():
    assert require_loopback("localhost") == "127.0.0.1"
    assert require_loopback("127.0.0.1") == "127.0.0.1"
    assert require_loopback("[::1]") == "::1"


def test_an_async_cache_aside_is_made_in_the_service_loop(backend, db):
    made = []

    def layer():  # called at startup, inside the service's event loop
        made.append(AsyncCacheAside(connect_async_cache(), loader=db.get_product, loader_many=db.get_products,
                                    prefix="service-test", ttl=60))
        return made[-1]

    app = make_app(db, layer)
    assert app.state.layer is None  # not made yet
    with start_service(app) as service, httpx.Client(base_url=service.url) as client:
        reads = [client.get("/products/3").json() for _ in range(3)]
        listing = client.get("/products", params={"ids": "3,4"}).json()
        client.put("/products/3", json={"price": 1.5})
        after = client.get("/products/3").json()
        stats = client.get("/stats").json()
    assert len(made) == 1 and reads[0] == reads[2] and sorted(listing["products"]) == ["3", "4"]
    assert after["price"] == 1.5 and stats["write_strategy"] == "delete"
    # misses: 3 cold, 4 in the listing (one loader_many query), 3 after the write deleted it
    assert (stats["hits"], stats["misses"], stats["db_queries"]) == (3, 3, 3)


def test_a_factory_that_makes_no_layer_stops_the_start_with_the_reason(db):
    with pytest.raises(RuntimeError, match="stopped while starting.*needs an async get"):
        start_service(make_app(db, lambda: CacheAside(connect_cache(), loader=db.get_product, prefix="x", ttl=1)))
    assert running_services() == []


def test_the_service_still_answers_when_the_cache_is_down(db):
    down = connect_cache("redis://127.0.0.1:9")  # nothing listens on the discard port
    layer = SyncCacheAdapter(CacheAside(down, loader=db.get_product, prefix="service-test", ttl=60))
    with start_service(make_app(db, layer)) as service:
        response = httpx.get(f"{service.url}/products/2")
        stats = httpx.get(f"{service.url}/stats").json()
    assert response.status_code == 200 and response.json() == db.current(2)
    assert stats["errors"] == 1 and stats["db_queries"] == 1  # a cache error is a miss that still answers


def test_the_service_answers_without_waiting_for_delayed_acks(db):
    # uvicorn writes a response in two parts (headers, then body). With Nagle's algorithm on, the
    # body waits for the client's delayed ACK of the headers (about 40 ms on Linux) on every
    # keep-alive request, so a cache hit would look like a database query. asyncio turns Nagle
    # off only on sockets whose proto is TCP; the runner's listening socket must say so.
    import socket

    with start_service(make_app(db, NoCache(db))) as service:
        with httpx.Client(base_url=service.url, trust_env=False) as client:
            assert client.get("/products/1").status_code == 200  # a kept-alive connection
            connections = list(service._server.server_state.connections)
            assert connections, "uvicorn reports no open connection for the kept-alive client"
            for connection in connections:
                accepted = connection.transport.get_extra_info("socket")
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
