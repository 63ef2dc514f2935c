"""Checks for lab 18, the capstone: a design card for the product service, the caching layer
itself (graded by running it through the six scenarios against the requirements card), a layer
that holds the card and the workload that breaks it, and two questions.

The design check is arithmetic on the card (the closed forms of lectures 04, 06 and 08); the code
and break-it checks run :func:`~cacheaside_lab.service.scenarios.run_scenarios`, which serves real
HTTP on loopback and measures the layer against an uncached baseline in the same run.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.async_cache_aside import AsyncCacheAside
from ...models.closed_forms import ttl_only_hit_ratio, zipf_weights
from ...models.herd import unprotected_recomputes
from ...protections.async_protections import ASYNC_PROTECTIONS
from ...service.requirements import REQUIREMENTS
from ...service.scenarios import SCENARIOS, LayerProblem, run_scenarios
from .framework import CheckFailed, exercise, expect, short, where
from .understanding import choose, estimate

LAB = "lab18"
CARD = REQUIREMENTS
DESIGN_FIELDS = ("ttl", "negative_ttl", "protection", "write_strategy", "near_cache", "split_fields", "breaker")
PROTECTIONS = tuple(name for name in ASYNC_PROTECTIONS if name != "none")
ATTACK_SETTINGS = {  # what the break-it exercise may change on the card, and within what range
    "missing_pool": (1, 1000),
    "missing_share": (0.0, 0.6),
    "zipf": (0.0, 2.0),
    "write_share": (0.0, 0.1),
}


# -- the card's arithmetic (the design exercise's numbers) ----------------------------------------


def steady_db_share(ttl: float, card=CARD) -> float:
    """Long-run database queries per read with TTL ``ttl``: Σ pᵢ (1 − hᵢ), hᵢ = λᵢT/(1 + λᵢT)."""
    weights = zipf_weights(card.keys, card.zipf)
    rates = card.read_rate * (1 - card.write_share) * weights
    return float(np.sum(weights * (1 - ttl_only_hit_ratio(rates, ttl))))


def shortest_ttl(card=CARD) -> float:
    """The shortest TTL (s) whose long-run database share is within the card's ``db_share``."""
    low, high = 0.01, 10_000.0
    for _ in range(60):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if steady_db_share(middle, card) > card.db_share else (low, middle)
    return high


def missing_rate_per_id(card=CARD) -> float:
    """Requests per second for each missing id in the missing-ids scenario."""
    return card.read_rate * card.missing_share / card.missing_pool


def shortest_negative_ttl(card=CARD) -> float:
    """The shortest negative TTL with missing-id queries within ``db_share``: 1/(1 + rT) ≤ share."""
    return (1 / card.db_share - 1) / missing_rate_per_id(card)


def hot_read_rate(card=CARD) -> float:
    """Reads per second of product 1 in the hot-key scenario."""
    return card.read_rate * (1 - card.hot_write_share) * float(zipf_weights(card.keys, card.hot_zipf)[0])


def herd_per_change(card=CARD) -> float:
    """Queries for the hot product per change without protection: 1 + r·Δ."""
    return unprotected_recomputes(hot_read_rate(card), card.db_latency_ms / 1000)


# -- exercise 1 (design): the design card ---------------------------------------------------------

HINT_DESIGN = ("Set design = {'ttl': seconds, 'negative_ttl': seconds or None, 'protection': 'single-flight', "
               "'lock', 'lease' or None, 'write_strategy': 'delete', 'update' or 'ttl-only', 'near_cache': "
               "True/False, 'split_fields': True/False, 'breaker': True/False}.")


def _design_fields(design, tried):
    if design is ... or design is None:
        raise CheckFailed(tried, "no answer yet: design is still unset.", HINT_DESIGN)
    if not isinstance(design, dict) or set(design) != set(DESIGN_FIELDS):
        missing = sorted(set(DESIGN_FIELDS) - set(design)) if isinstance(design, dict) else list(DESIGN_FIELDS)
        extra = sorted(set(design) - set(DESIGN_FIELDS)) if isinstance(design, dict) else []
        raise CheckFailed(tried, f"design is {short(design)}: it needs exactly the keys {', '.join(DESIGN_FIELDS)} "
                          f"(missing {', '.join(missing) or 'none'}; unknown {', '.join(map(str, extra)) or 'none'}).",
                          HINT_DESIGN)
    for name in ("ttl", "negative_ttl"):
        value = design[name]
        if name == "negative_ttl" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise CheckFailed(tried, f"design[{name!r}] is {short(value)}, not a number of seconds above 0"
                              f"{' (or None)' if name == 'negative_ttl' else ''}.", HINT_DESIGN)
    for name in ("near_cache", "split_fields", "breaker"):
        if not isinstance(design[name], bool):
            raise CheckFailed(tried, f"design[{name!r}] is {short(design[name])}, not True or False.", HINT_DESIGN)


def _design_ttl(design, tried) -> None:
    ttl, low = design["ttl"], shortest_ttl()
    expect(ttl <= CARD.bypass_staleness_s, tried=tried,
           wrong=f"ttl = {ttl:g} s: the nightly import writes the database directly, so a changed row is served "
           f"from the cache for up to {ttl:g} s, and the card allows {CARD.bypass_staleness_s:g} s.",
           hint="Nothing deletes an entry for a write the service never saw: only the TTL bounds that staleness.")
    share = steady_db_share(ttl)
    expect(ttl >= low, tried=tried,
           wrong=f"ttl = {ttl:g} s: in steady traffic ({CARD.keys} products, Zipf {CARD.zipf:g}, "
           f"{CARD.read_rate:g} requests/s) each product's entry serves λT/(1 + λT) of its reads, so "
           f"{share:.0%} of reads would reach the database, over the card's {CARD.db_share:.0%}.",
           hint=f"Sum pᵢ/(1 + λᵢT) over the products (λᵢ = pᵢ × the read rate) and find the T where it reaches "
           f"{CARD.db_share:g}; the TTL must be at least that.")


def _design_negative_ttl(design, tried) -> None:
    negative, low = design["negative_ttl"], shortest_negative_ttl()
    per_id = missing_rate_per_id()
    expect(negative is not None, tried=tried,
           wrong=f"negative_ttl = None: every request for an id that does not exist is a query. In the "
           f"missing-ids scenario that is all {CARD.missing_share:.0%} of requests against the card's "
           f"{CARD.db_share:.0%} of the uncached service's queries.",
           hint="Cache 'not found' too, for a shorter TTL of its own.")
    expect(negative >= low, tried=tried,
           wrong=f"negative_ttl = {negative:g} s: each missing id is asked {per_id:g} times a second, so a "
           f"'not found' cached for T serves r·T/(1 + r·T) of them and 1/(1 + {per_id:g}·{negative:g}) = "
           f"{1 / (1 + per_id * negative):.0%} still reach the database (card: {CARD.db_share:.0%}).",
           hint="Solve 1/(1 + r·T) ≤ the card's share for T.")
    expect(negative <= min(design["ttl"], CARD.bypass_staleness_s), tried=tried,
           wrong=f"negative_ttl = {negative:g} s is longer than the TTL ({design['ttl']:g} s) or the card's "
           f"{CARD.bypass_staleness_s:g} s: a product the import adds stays 'not found' that long.",
           hint="A cached 'not found' goes stale the moment the product is added: keep it shorter than a value's TTL.")


def _design_protection(design, tried) -> None:
    protection = design["protection"]
    herd = herd_per_change()
    expect(protection not in (None, "none"), tried=tried,
           wrong=f"protection = {protection!r}: product 1 is read {hot_read_rate():.0f} times a second and a refill "
           f"takes {CARD.db_latency_ms:g} ms, so each change costs 1 + r·Δ ≈ {herd:.1f} queries, over the card's "
           f"{CARD.herd_queries_per_change:g}.",
           hint="Let one request refill a missing entry while the others wait for it.")
    expect(protection in PROTECTIONS, tried=tried,
           wrong=f"protection = {short(protection)} is not one of {', '.join(map(repr, PROTECTIONS))}.",
           hint="AsyncCacheAside(protection=...) takes 'single-flight', 'lock' or 'lease'.")


def _design_write_strategy(design, tried) -> None:
    strategy = design["write_strategy"]
    expect(strategy != "update", tried=tried,
           wrong=f"write_strategy = 'update': two writers of one product race, and the one whose SET lands last may "
           f"carry the older row: it stays for the whole TTL ({design['ttl']:g} s) against a "
           f"{CARD.staleness_s:g} s budget.",
           hint="Which write strategy leaves nothing behind for a late writer to get wrong? (lecture 02)")
    expect(strategy != "ttl-only", tried=tried,
           wrong=f"write_strategy = 'ttl-only': after every write the old row is served until the TTL "
           f"({design['ttl']:g} s), and the card allows {CARD.staleness_s:g} s after a write through the service.",
           hint="The service sees these writes: act on the cache when it does.")
    expect(strategy == "delete", tried=tried, wrong=f"write_strategy = {short(strategy)} is not 'delete', 'update' or "
           "'ttl-only'.", hint="Choose one of 'delete', 'update', 'ttl-only'.")


def _design_extras(design, tried) -> None:
    expect(not design["near_cache"], tried=tried,
           wrong=f"near_cache = True: a copy in each service process is not deleted by a write another process "
           f"handles, so it adds up to its own TTL of staleness (budget {CARD.staleness_s:g} s), and the p99 "
           f"target is met by Redis hits already (the steady scenario's p99 is a fraction of no cache's).",
           hint="What does the card ask for that Redis alone does not give? (lecture 10)")
    expect(not design["split_fields"], tried=tried,
           wrong=f"split_fields = True: splitting pays when one volatile field caps the whole object's TTL or its "
           f"size; here a write deletes the entry, and {CARD.keys} whole products fit the {CARD.memory_bytes // 1024} "
           f"KiB budget. Splitting doubles the keys and the round trips for nothing the card asks.",
           hint="Is there a number on the card that whole products miss? (lecture 11)")


@exercise("Exercise 1 (design) · the design card")
def check_design(design, *, cache=None):
    tried = f"your design card {short(design, 160)} against the requirements card"
    _design_fields(design, tried)
    _design_ttl(design, tried)
    _design_negative_ttl(design, tried)
    _design_protection(design, tried)
    _design_write_strategy(design, tried)
    _design_extras(design, tried)
    breaker = ("with a breaker: harmless here, since a restarted cache refuses connections at once"
               if design["breaker"] else "no breaker: the cache here fails fast, so there is no timeout to skip")
    return (f"TTL {design['ttl']:g} s in [{shortest_ttl():.0f}, {CARD.bypass_staleness_s:g}] s (database "
            f"{steady_db_share(design['ttl']):.0%} long-run), negative TTL {design['negative_ttl']:g} s ≥ "
            f"{shortest_negative_ttl():.1f} s, {design['protection']} against a herd of {herd_per_change():.1f}, "
            f"delete on write, no near cache, whole products; {breaker}.")


# -- exercise 2: the caching layer ----------------------------------------------------------------

HINT_LAYER = ("Return AsyncCacheAside(cache, loader=db.get_product, loader_many=db.get_products, prefix=..., "
              "ttl=..., negative_ttl=..., protection=...) with the numbers from your design card.")


def _layer_failed(problem: LayerProblem, tried: str):
    error = problem.error
    if isinstance(error, NotImplementedError):
        return CheckFailed(tried, "make_layer still raises NotImplementedError, so the exercise is not done yet.",
                           "Replace the `raise NotImplementedError(...)` line with your code, run that cell, then "
                           "run this check again.")
    return CheckFailed(tried, f"make_layer (or reading product 1 through its layer) raised "
                       f"{type(error).__name__}: {error}{where(error)}", HINT_LAYER)


def _run(make_layer, tried, **options):
    if not callable(make_layer):
        raise CheckFailed(tried, f"the check needs a function, and it was given {type(make_layer).__name__}.",
                          "Pass the function itself: check_caching_layer(make_layer), not check_caching_layer(make_layer(...)).")
    try:
        run = run_scenarios(make_layer, **options)
    except NotImplementedError as error:
        raise _layer_failed(LayerProblem(error), tried) from None
    except LayerProblem as problem:
        raise _layer_failed(problem, tried) from None
    _LAST["run"] = run
    return run


_LAST: dict = {}


def last_run():
    """The :class:`~cacheaside_lab.service.scenarios.CapstoneRun` exercise 2's check made last (to draw it)."""
    if "run" not in _LAST:
        raise NotImplementedError("run exercise 2's check first: it makes the run drawn here.")
    return _LAST["run"]


def _missed_feedback(run) -> tuple[str, str]:
    missed = run.missed
    wrong = (f"{len(missed)} of {len(run.targets)} targets missed:\n" + run.table())
    # a count (queries, stale reads, bytes) names the mistake more surely than a latency ratio
    first = sorted(missed, key=lambda target: target.unit == "×" and target.target.startswith("p99"))[0]
    return wrong, f"{first.scenario} / {first.target}: {first.look_at}"


@exercise("Exercise 2 · the caching layer")
def check_caching_layer(make_layer, *, cache=None, scenarios=None):
    tried = (f"make_layer through the scenarios {', '.join(scenarios or SCENARIOS)}, each against no cache in the "
             "same run")
    run = _run(make_layer, tried, cache=cache, scenarios=scenarios)
    print(run.table())
    if not run.held:
        wrong, hint = _missed_feedback(run)
        raise CheckFailed(tried, wrong, hint)
    steady = next((r for r in run.results if r.name == "steady"), None)
    extra = f" Steady p99 {steady.p99_ratio:.2f}× no cache's." if steady is not None and steady.p99_ratio else ""
    return f"every one of the {len(run.targets)} targets held in {len(run.results)} scenarios.{extra}"


# -- exercise 3 (break it): a layer that holds the card ------------------------------------------

def given_layer(db, cache):
    """The layer exercise 3 attacks: it holds every target of the course's card."""
    return AsyncCacheAside(cache, loader=db.get_product, loader_many=db.get_products, prefix="capstone:given",
                           ttl=30, ttl_jitter=0.1, negative_ttl=5, protection="single-flight")


HINT_ATTACK = ("Set attack = {'scenario': one of " + ", ".join(map(repr, SCENARIOS)) + ", and one or two of "
               + ", ".join(f"{name!r} ({low:g} to {high:g})" for name, (low, high) in ATTACK_SETTINGS.items()) + "}.")


def _attack_settings(attack, tried) -> tuple[str, dict]:
    if attack is ... or attack is None:
        raise CheckFailed(tried, "no answer yet: attack is still unset.", HINT_ATTACK)
    if not isinstance(attack, dict) or attack.get("scenario") not in SCENARIOS:
        raise CheckFailed(tried, f"attack is {short(attack)}: it needs a 'scenario' from {', '.join(SCENARIOS)}.",
                          HINT_ATTACK)
    settings = {name: value for name, value in attack.items() if name != "scenario"}
    unknown = sorted(set(settings) - set(ATTACK_SETTINGS))
    if unknown or not settings:
        raise CheckFailed(tried, f"attack changes {', '.join(unknown) or 'nothing'}; it may change only "
                          f"{', '.join(ATTACK_SETTINGS)} (one or two of them).", HINT_ATTACK)
    for name, value in settings.items():
        low, high = ATTACK_SETTINGS[name]
        integral = isinstance(low, int)
        if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)) or not low <= value <= high:
            raise CheckFailed(tried, f"attack[{name!r}] = {short(value)} is outside {low:g} to {high:g}.", HINT_ATTACK)
    return attack["scenario"], settings


@exercise("Exercise 3 (break it) · the workload that breaks a good layer")
def check_attack(attack, *, cache=None):
    tried = f"given_layer through the scenario and settings of attack = {short(attack)}"
    scenario, settings = _attack_settings(attack, tried)
    try:
        card = CARD.replace(**settings)
    except (TypeError, ValueError) as error:
        raise CheckFailed(tried, f"the card refused those settings: {error}", HINT_ATTACK) from None
    run = run_scenarios(given_layer, scenarios=[scenario], card=card, cache=cache)
    print(run.table())
    expect(not run.held, tried=tried,
           wrong=f"every target of {scenario!r} held with {settings}: given_layer copes with that.",
           hint="given_layer caches 'not found' for 5 s. When does a cached 'not found' never get a second "
           "request before it expires?")
    missed = run.missed[0]
    return (f"{scenario} with {settings} made it miss '{missed.target}' ({missed.line().split('  ', 1)[-1].strip()}). "
            "A card is a promise about a workload: change the workload and the same layer breaks.")


# -- exercises 4 and 5 (questions) ---------------------------------------------------------------

@exercise("Exercise 4 (question) · why a ratio")
def check_ratio_question(answer_4, *, cache=None):
    return choose(
        answer_4,
        question="why is the p99 target a ratio to the uncached service measured in the same run?",
        choices={
            "a": "Because a p99 in milliseconds cannot be measured over HTTP.",
            "b": "Because the machine's load moves every latency; the baseline, measured seconds apart on the same "
                 "machine, moves with it, so the ratio reflects the cache and not the machine.",
            "c": "Because the uncached service is always exactly twice as slow.",
            "d": "Because a ratio makes the target easier to hold.",
        },
        answer="b",
        wrong={
            "a": "The load generator measures every request's latency in milliseconds, from its scheduled send.",
            "c": "Nothing fixes the factor: it depends on the hit ratio, the database's latency and its queue.",
            "d": "It is not easier: a busy machine slows the cached service too, and the target still asks for "
                 "half of the baseline's p99. It is fairer, not looser.",
        },
        why="On a shared 2-core machine an absolute p99 passes when the machine is idle and fails when it is "
            "busy; counts (queries, stale reads) need no baseline at all.",
    )


@exercise("Exercise 5 (question) · the herd on the hot product")
def check_herd_question(estimate_5, *, cache=None):
    rate = hot_read_rate()
    return estimate(
        estimate_5,
        question=(f"product 1 is read about {rate:.0f} times a second and a refill takes {CARD.db_latency_ms:g} ms; "
                  "without protection, how many queries does one change of it cost?"),
        answer=herd_per_change(),
        relative_tolerance=0.15,
        too_low="The first reader after the delete loads, and so does everyone who arrives during its load.",
        too_high="Only the readers that arrive during one refill miss: r·Δ of them, plus the first.",
        why=f"1 + r·Δ = 1 + {rate:.0f} × {CARD.db_latency_ms / 1000:g}: the hot-key scenario measures about that "
            "for a layer without protection, and at most 1 with single-flight.",
    )
