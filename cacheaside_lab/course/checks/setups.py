"""What every lab checker sets up the same way: the lab's keys, a clean start, and a race run.

A check must not pass or fail because of what the learner tried earlier in the notebook, so each
one starts from an empty namespace of its own lab (``cacheaside-lab:lab06:…``) on the configured
cache (fakeredis, or the real Redis named by ``CACHEASIDE_REDIS_URL``) and a fresh catalogue.
These helpers are that start, written once; the ``labNN`` modules only say which lab they are.
"""

from __future__ import annotations

from ...core.keys import clear_course_keys, make_key
from ...races import RaceWorld
from ...races.functions import RaceError, explore_functions
from ...stores.backend import connect_cache
from ...stores.db import ProductDB
from .framework import CheckFailed, where

CATALOGUE_PRODUCTS = 100  # every check's catalogue: products 1 to 100, so 4242 never exists


def key_function(lab: str, kind: str = "product", doc: str | None = None):
    """The ``product_key`` (or ``info_key``, …) of ``lab``: ``key_function("lab06")(42)`` is
    ``cacheaside-lab:lab06:product:42``. Labs import these by name, so each lab module binds one."""
    prefix = f"{lab}:{kind}"

    def key(product_id) -> str:
        return make_key(prefix, product_id)

    key.__name__ = key.__qualname__ = f"{kind}_key"
    key.__doc__ = doc or f"The key {lab} stores a {kind} under: ``cacheaside-lab:{prefix}:42``."
    return key


def empty_namespace(cache, lab: str):
    """The configured cache (or ``cache``), with every key of ``lab``'s namespace deleted."""
    cache = cache if cache is not None else connect_cache()
    clear_course_keys(cache, f"{lab}:")
    return cache


def fresh_catalogue(cache, lab: str, *, latency_ms: float = 0.0) -> tuple:
    """An empty ``lab`` namespace and a new 100-product catalogue (each query ``latency_ms``)."""
    return empty_namespace(cache, lab), ProductDB(products=CATALOGUE_PRODUCTS, latency_ms=latency_ms)


def fresh_race_world(cache, lab: str, **options) -> RaceWorld:
    """Product 42 in a fresh catalogue and an empty ``lab`` namespace, ready for a race."""
    return RaceWorld(empty_namespace(cache, lab), prefix=lab, **options)


def describe_steps(steps) -> str:
    """``R1 GET, W1 UPDATE, …``: an interleaving as the learner reads it in feedback."""
    return ", ".join(f"{actor} {label}" for actor, label in steps or ())


def explore_or_fail(reader, writer, readers: int, writers: int, *, world, tried: str, hint: str, **options):
    """Every interleaving of the learner's functions (:func:`explore_functions`); when their code
    raises or never finishes, the :class:`~cacheaside_lab.races.RaceError` becomes feedback."""
    try:
        return explore_functions(reader, writer, readers, writers, world=world, **options)
    except RaceError as error:
        detail = f"{error}{where(error.error) if error.error is not None else ''}"
        raise CheckFailed(tried, detail, hint) from None
