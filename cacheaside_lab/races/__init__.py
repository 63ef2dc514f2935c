"""Races you can step through and enumerate, on the real cache and the real database.

* :mod:`.world`: product 42 in SQLite and its key in Redis, with snapshot and restore;
* :mod:`.strategies`: readers and writers, one real command per step, for each strategy
  (``update``, ``delete``, ``lease``, ``versioned``, ``double-delete``);
* :mod:`.scheduler`: :class:`Stepper` and :func:`replay_schedule`, one interleaving of your choosing;
* :mod:`.explorer`: :func:`explore_interleavings`, every interleaving counted and classified;
* :mod:`.timeline`: :func:`schedule_from_times`, for fixes that bet on timing (double delete);
* :mod:`.functions`: the same for plain Python functions (your lab code), a thread per actor;
* :mod:`.widget`: the step-through widget for notebook 02.

Used by lectures 02 and 03, the checks of labs 02 and 03, and ``cacheaside-lab race``.
"""

from .explorer import MAX_ACTORS, Execution, Exploration, all_executions, compare, explore_interleavings
from .functions import RaceError, explore_functions, replay_functions
from .scheduler import Stepper, StepRecord, replay_schedule
from .strategies import STRATEGIES, STRATEGY_NAMES, Actor, Strategy, get_strategy
from .timeline import schedule_from_times
from .world import PRODUCT_ID, RaceDB, RaceWorld, WorldSnapshot

__all__ = [
    "Actor",
    "Execution",
    "Exploration",
    "MAX_ACTORS",
    "PRODUCT_ID",
    "RaceDB",
    "RaceError",
    "RaceWorld",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "StepRecord",
    "Stepper",
    "Strategy",
    "WorldSnapshot",
    "all_executions",
    "compare",
    "explore_functions",
    "explore_interleavings",
    "get_strategy",
    "replay_functions",
    "replay_schedule",
    "schedule_from_times",
]
