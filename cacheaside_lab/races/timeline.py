"""From "when does each step happen" to a schedule the scheduler can replay.

Enumeration treats every order as possible, which is the same as saying any step may take
arbitrarily long. Some fixes are about time instead: a *delayed* double delete bets that every
reader that read the old row has stored it before the second delete. To test that bet, give each
actor's steps a time (in milliseconds, say), sort all steps by time, and replay the resulting
order on the real cache and database:

>>> schedule_from_times({"R1": [0, 0.5, 30], "W1": [1, 2, 12]})
['R1', 'R1', 'W1', 'W1', 'W1', 'R1']
"""

from __future__ import annotations

from numbers import Real


def schedule_from_times(times: dict[str, list[float]]) -> list[str]:
    """All steps sorted by time; ties go to the actor listed first. Each actor's times must not go backwards."""
    if not isinstance(times, dict) or not times:
        raise ValueError("times must map actor names to the times of their steps, e.g. {'R1': [0, 1, 5]}.")
    events = []
    for order, (actor, moments) in enumerate(times.items()):
        moments = list(moments)
        if not all(isinstance(t, Real) and not isinstance(t, bool) for t in moments):
            raise TypeError(f"{actor}'s step times must be numbers (got {moments!r}).")
        if any(later < earlier for earlier, later in zip(moments, moments[1:])):
            raise ValueError(f"{actor}'s steps must happen in order: its times go backwards ({moments!r}).")
        events += [(moment, order, step, actor) for step, moment in enumerate(moments)]
    return [actor for *_, actor in sorted(events)]
