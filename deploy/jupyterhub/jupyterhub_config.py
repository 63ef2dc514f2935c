# JupyterHub configuration for a Cache-Aside Lab workshop: one Redis, one hub, one ACL user per learner.
#
#   cacheaside-lab workshop provision --redis-url ADMIN_URL --learners-file names.txt --out creds.json
#   CACHEASIDE_WORKSHOP_CREDENTIALS=$PWD/creds.json jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
#
# Each learner's JupyterLab starts with that learner's CACHEASIDE_REDIS_URL and CACHEASIDE_NAMESPACE
# set (read from the credentials file at every start), in their own copy of the course; a learner
# missing from the file is refused a server with a message saying why. docs/workshop.md is the
# runbook; cacheaside_hub.py beside this file does the work, and tests/test_jupyterhub.py starts
# this file in rehearsal mode, logs two learners in and checks their keys stay apart.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cacheaside_hub import HubConfigError, configure  # noqa: E402

c = get_config()  # noqa: F821 (JupyterHub defines it)

try:
    chosen = configure(c, os.environ)
except HubConfigError as error:
    raise SystemExit(f"deploy/jupyterhub/jupyterhub_config.py: {error}") from None

# ---------------------------------------------------------------------------------------------
# The switch: CACHEASIDE_HUB_MODE.
#   class (default)  PAMAuthenticator + LocalProcessSpawner: each learner is a Unix user with a
#                    password of their own, their server runs as that user. The hub runs as root.
#   rehearsal        SharedPasswordAuthenticator + SimpleLocalProcessSpawner, loopback only: a
#                    laptop try-out and the test. NEVER for a class (anyone with the password can
#                    log in as any learner and so use that learner's Redis user).
#
# Other production pieces, instead of PAM/LocalProcessSpawner in class mode: uncomment ONE
# block below (after pip-installing its package at the version given); docs/workshop.md says
# what each needs. The credentials, environment and course copy above work the same with each.
#
# Learners sign up on the hub's own page and you approve them (no Unix users to create), each
# server in a Docker container of an image holding the course (the credentials file stays on the
# hub's side; the course is not copied, the image has it):
#   pip install jupyterhub-nativeauthenticator==1.3.0 dockerspawner==14.0.0
# c.JupyterHub.authenticator_class = "native"
# c.NativeAuthenticator.open_signup = False  # you approve each sign-up at /hub/authorize
# c.JupyterHub.spawner_class = "docker"
# c.DockerSpawner.image = "cacheaside-lab-workshop:latest"  # built from the course, see docs/workshop.md
# c.JupyterHub.hub_ip = "0.0.0.0"  # the containers reach the hub over Docker's network
# c.Spawner.ip = "0.0.0.0"         # inside the container
# c.Spawner.cmd = ["jupyterhub-singleuser"]  # the image's own, not the hub's venv path
#
# Each server in a systemd unit with memory and CPU limits (learners are Unix users, as with PAM):
#   pip install jupyterhub-systemdspawner==1.0.2
# c.JupyterHub.spawner_class = "systemdspawner"
# c.SystemdSpawner.mem_limit = "2G"
# c.SystemdSpawner.cpu_limit = 1.0
# c.SystemdSpawner.isolate_tmp = True
# c.SystemdSpawner.disable_user_sudo = True
# ---------------------------------------------------------------------------------------------

print(
    f"cacheaside-lab hub: {chosen['mode']} mode at {chosen['bind_url']}, "
    f"{len(chosen['learners'])} learners from {chosen['credentials']}",
    file=sys.stderr,
)
