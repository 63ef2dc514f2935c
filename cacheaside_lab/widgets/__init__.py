"""Interactive explorers: a pure function computes, a thin widget draws, a text fallback prints.

* :mod:`.ratio_explorer`: lecture 05's read/write-ratio explorer: ``explore_ratios`` (pure),
  ``summary_rows``, ``load_sources`` (where the database's queries come from), ``draw``,
  ``show_widget``.
* :mod:`.predict`: predict-then-run questions for every lecture (from 00): ``Question``, ``judge``
  (pure), ``commit``, ``ask`` (the widget) and ``static_answer`` (the ``<details>`` answer cell).
* :mod:`.questions`: each lecture's questions by name (``question("00.check")``), one module per
  lecture (``lecture00`` …), so a cell that asks one does not show its answer.

The other widgets sit beside what they show: the race step-through in
:mod:`cacheaside_lab.races.widget` (lecture 02), the expiry timeline in
:mod:`cacheaside_lab.models.herd` (lecture 06) and the dashboard in
:mod:`cacheaside_lab.experiments.dashboard` (lecture 14).
"""
