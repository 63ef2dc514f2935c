"""The predict-then-run questions of each lecture, kept out of the notebooks' code cells.

A question written out in the cell that asks it shows its answer and explanation on screen
before the learner has guessed. Here each lecture's questions live under a short name, and a
notebook asks one with ``ask(question("00.check"))``; the folded answer under it is
``static_answer(question("00.check"))``. Each call builds a fresh :class:`~.predict.Question`,
so running the cell again starts the question over.
"""

from __future__ import annotations

from ..core.validation import require_choice
from .predict import Question

QUESTIONS = {
    # notebook 00, before lab 01's check runs on a read path that never writes to the cache
    "00.check": dict(
        prompt=("A read path that returns the right product but never stores it in the cache: "
                "what does lab 01's first check say?"),
        choices=[
            "It passes: the product it returns is correct.",
            "It fails: nothing was stored in the cache after the miss.",
            "It fails with a Python error and a traceback.",
        ],
        answer="It fails: nothing was stored in the cache after the miss.",
        explanation=("A check judges what your code does, not only what it returns. It calls the read "
                     "path on an empty cache, then looks for product 42 in the cache; finding nothing, it "
                     "says every read would miss and the database would take every query. A failing check "
                     "is a message with a hint, never a traceback."),
    ),
}


def question(name: str) -> Question:
    """A fresh copy of the question called ``name`` (``"NN.topic"``, NN the lecture)."""
    require_choice("question", name, QUESTIONS)
    settings = QUESTIONS[name]
    return Question(**{key: list(value) if isinstance(value, list) else value for key, value in settings.items()})
