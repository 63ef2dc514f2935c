"""Fixtures for the tests of per-learner ACL users: a private redis-server and its admin client.

ACLs are enforced only by a real server (fakeredis has none), so these tests run on a
``redis-server`` of their own module, never on the shared ``backend`` fixture. Import the fixtures
into a test module (``from acl_server import admin, server``) to use them there.
"""

from __future__ import annotations

import pytest

from cacheaside_lab.core.keys import clear_course_keys
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server
from cacheaside_lab.workshop.acl import USER_PREFIX

ACL_ONLY_ON_REAL_REDIS = "ACL users are enforced only by a real redis-server; fakeredis does not implement them"


@pytest.fixture(scope="module")
def server():
    if find_redis_server() is None:
        pytest.skip(f"{ACL_ONLY_ON_REAL_REDIS}, and redis-server is not installed")
    with RedisServer() as started:
        yield started


@pytest.fixture
def admin(server):
    """The server's default user; afterwards the learners the test made and every namespace's keys go."""
    client = server.client()
    yield client
    users = [user for user in client.acl_users() if user.startswith(USER_PREFIX)]
    if users:
        client.acl_deluser(*users)
    # this module's private server holds only the test's keys, each under some namespace
    for key_namespace in {key.split(":", 1)[0] + ":" for key in client.scan_iter()}:
        clear_course_keys(client, namespace=key_namespace)
    client.close()
