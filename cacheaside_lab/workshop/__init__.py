"""Running the course as a workshop on one shared Redis: one confined ACL user per learner.

For the instructor who gives a room of learners one real Redis server instead of a fakeredis each.
Every learner gets a Redis ACL user of their own that may touch only the keys under their own
namespace and run only the commands the course needs, so one learner's code (or mistake) can
neither read, overwrite nor delete another learner's keys, and nobody can empty the server.
Every lecture, lab, solution and CLI verb runs unchanged under such a user
(``tests/test_notebooks_real_redis.py`` runs them all as one).

* :mod:`.acl`: ``provision`` / ``revoke`` / ``list_learners`` the users, ``LearnerAccess`` (each
  learner's ``CACHEASIDE_REDIS_URL`` and ``CACHEASIDE_NAMESPACE``), the instructor's credentials
  file (``write_credentials`` / ``read_credentials``, mode 0600) and ``COURSE_COMMANDS``, the
  allow-list; used by ``cacheaside-lab workshop`` (:mod:`cacheaside_lab.cli.workshop`) and the
  JupyterHub deployment under ``deploy/``.
"""
