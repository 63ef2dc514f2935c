"""The predict-then-run questions of each lecture, kept out of the notebooks' code cells.

A question written out in the cell that asks it shows its answer and explanation on screen
before the learner has guessed. Here each lecture's questions live under a short name, one
module per lecture (``lecture00.py`` … ``lecture18.py``, each a ``QUESTIONS`` dict named
``"NN.topic"``), and a notebook asks one with ``ask(question("00.check"))``; the folded answer
under it is ``static_answer(question("00.check"))``. Each call builds a fresh
:class:`~.predict.Question`, so running the cell again starts the question over.
"""

from __future__ import annotations

import importlib
import pkgutil

from ...core.validation import require_choice
from ..predict import Question


def _collect() -> dict[str, dict]:
    """Every ``lectureNN`` module's questions, in one dict; a name may be used only once."""
    collected: dict[str, dict] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        if not info.name.startswith("lecture"):
            continue
        lecture = info.name.removeprefix("lecture")
        for name, settings in importlib.import_module(f"{__name__}.{info.name}").QUESTIONS.items():
            if not name.startswith(f"{lecture}."):
                raise ValueError(f"question {name!r} lives in {info.name}.py: its name must start with {lecture!r}.")
            if name in collected:
                raise ValueError(f"question {name!r} is defined twice.")
            collected[name] = settings
    return collected


QUESTIONS = _collect()


def question(name: str) -> Question:
    """A fresh copy of the question called ``name`` (``"NN.topic"``, NN the lecture)."""
    require_choice("question", name, QUESTIONS)
    settings = QUESTIONS[name]
    return Question(**{key: list(value) if isinstance(value, list) else value for key, value in settings.items()})
