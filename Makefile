# Cache-Aside Lab — the two commands are `make lab` and `make test`.
# Both create .venv (if missing) and install the course into it; nothing else is needed
# on the machine but Python 3.11 or newer.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test labs notebooks redis hub doctor bench lock clean help

help:
	@echo "make lab        set up .venv and open the course in JupyterLab"
	@echo "make test       set up .venv and run every test (unit, notebooks, labs, solutions)"
	@echo "make labs       regenerate labs/ from solutions/ (keeps labs you changed; FORCE=1 replaces them after a backup)"
	@echo "make notebooks  re-execute notebooks/ and solutions/ in place (refreshes committed outputs)"
	@echo "make redis      run a private redis-server and print the CACHEASIDE_REDIS_URL to use"
	@echo "make hub        run the workshop's JupyterHub (CACHEASIDE_WORKSHOP_CREDENTIALS=creds.json; docs/workshop.md)"
	@echo "make doctor     check Python, packages, the cache backend and the widgets extension"
	@echo "make bench      run benchmarks/ and write benchmarks/RESULTS.md"
	@echo "make lock       re-pin requirements.lock from the current .venv"

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Cache-Aside Lab needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,bench,workshop]'
	touch $(STAMP)

# The launcher stops JupyterLab, its kernels and any redis-server a notebook started on Ctrl-C,
# SIGTERM or SIGHUP, and removes their temporary folders (cacheaside_lab/course/launch.py).
lab: $(STAMP)
	exec $(BIN)/python -m cacheaside_lab.course.launch -- $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

# Workers: the suite waits a lot (kernels, browser, latency knobs), so more workers than cores
# pay; benchmarks/RESULTS.md ("Test suite") has the measurements. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4
test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadscope)

labs: $(STAMP)
	$(BIN)/python -m cacheaside_lab.course.labgen $(if $(FORCE),--force)

notebooks: $(STAMP)
	$(BIN)/python -m cacheaside_lab.course.execute notebooks solutions

# stopped (server and temporary folder) by Ctrl-C, SIGTERM or SIGHUP
redis: $(STAMP)
	exec $(BIN)/cacheaside-lab redis

# The workshop hub (docs/workshop.md): one JupyterHub that starts each learner's JupyterLab with
# their own Redis user. Needs CACHEASIDE_WORKSHOP_CREDENTIALS (cacheaside-lab workshop provision
# --out) and configurable-http-proxy (npm); its database and cookie secret go in .hub/.
HUB_STATE ?= $(CURDIR)/.hub
hub: $(STAMP)
	mkdir -p "$(HUB_STATE)"
	CACHEASIDE_HUB_STATE="$(HUB_STATE)" exec $(BIN)/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

doctor: $(STAMP)
	$(BIN)/cacheaside-lab doctor

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
