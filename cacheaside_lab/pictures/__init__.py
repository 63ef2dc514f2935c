"""Pictures of the mechanisms and of the runs the notebooks make, drawn with matplotlib.

A lecture shows the loop, the rule or the probe that *is* its lesson; how a figure is styled is
not the lesson, so it lives here. Every function takes a run's own record (a replayed
interleaving, a herd's requests, a dashboard's frames) or a model's numbers and returns the
matplotlib ``Figure`` it drew, with a title and labelled axes (units in brackets), so picture and
printed numbers come from the same data and cannot disagree.

* :mod:`.style`: ``new_figure`` and ``finish``, the one place figure sizes, fonts and labels are set.

The modules for each lecture's pictures are listed below as they are added.
"""
