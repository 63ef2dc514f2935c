"""Behavioural checks for the labs: one module per lab (``lab01`` …), all built on ``framework``.

* :mod:`.framework`: ``CheckFailed``, ``@exercise``, ``attempt``, ``expect``: how a check talks to
  the learner;
* :mod:`.setups`: what every checker sets up the same way: the lab's keys (``product_key`` …), an
  empty lab namespace, a fresh catalogue or race world, and racing the learner's functions;
* :mod:`.understanding`: ``choose`` and ``estimate``, graded understanding questions (a choice or a
  number) whose feedback explains each wrong answer;
* :mod:`.guard`: checks verified in the kernel before a graded check cell runs;
* ``lab01`` … ``lab18``: one ``@exercise`` entry point per exercise, each a short list of the
  scenarios it plays, one small function per scenario.
"""

from .framework import EXERCISES, CheckFailed

__all__ = ["CheckFailed", "EXERCISES"]
