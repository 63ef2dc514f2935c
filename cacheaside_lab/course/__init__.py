"""Course tooling: lab checks, grading, lab generation, notebook execution, the environment report.

* :mod:`.checks`: ``framework`` (``CheckFailed``, ``@exercise``, ``attempt``, ``expect``), ``setups``
  (the lab keys, fresh namespaces, catalogues and race worlds every checker shares), ``guard``
  (checks verified in the kernel), ``understanding`` (graded choice and numeric questions) and one
  ``labNN`` module per lab (labs 01 to 18);
* :mod:`.grading`, :mod:`.grading_scan`, :mod:`.grading_lock`: ``cacheaside-lab check``: run a lab
  in a fresh kernel, refuse cells that tamper with checks, one grader per namespace at a time;
* :mod:`.grading_class`: ``cacheaside-lab check FOLDER``: a class's submissions, each lab in a worker
  process and fresh kernel of its own, ``--jobs`` at a time; a learner × lab table or one ``--json``
  object;
* :mod:`.labgen`: generates ``labs/`` from ``solutions/`` (``python -m cacheaside_lab.course.labgen``,
  ``make labs``);
* :mod:`.execute`: re-executes notebooks in place (``python -m cacheaside_lab.course.execute``,
  ``make notebooks``); its ``SteadyClient`` waits on the kernel's channels in slices of at most 1 s,
  so a missed socket wake-up costs a second, not the cell's timeout;
* :mod:`.environment`: the environment report of notebook 00 and ``cacheaside-lab doctor`` (named
  so it is not confused with the subcommand :mod:`cacheaside_lab.cli.doctor`);
* :mod:`.launch`: ``make lab``'s launcher, which stops JupyterLab, kernels and servers on Ctrl-C;
* :mod:`.tables`: plain-text tables, what nbval compares (every lecture prints with them);
* :mod:`.source`: ``show_source``, a package function's code printed where a lecture says "read the loop".
"""
