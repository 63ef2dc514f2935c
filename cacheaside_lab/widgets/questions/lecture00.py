"""Lecture 00's questions: how a lab's checks answer a wrong exercise."""

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
