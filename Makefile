# Two commands from nothing: `make reproduce` and `make test` (both create .venv when missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= cpu
# more pytest arguments for make test (benchmarks/suite_time.py adds --durations)
PYTEST_ARGS ?=

.PHONY: setup reproduce smoke test test-fast lab clean-runs blogs

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

reproduce: setup  ## regenerate results/ and figures/ (cpu profile by default)
	HF_HUB_OFFLINE=1 $(PY) -m confprofile.reproduce --profile $(PROFILE)

smoke: setup      ## the same notebooks at CI scale
	HF_HUB_OFFLINE=1 $(PY) -m confprofile.reproduce --profile smoke

test: setup       ## unit tests, doctests, and every notebook at smoke scale, on two workers
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-fast: setup  ## the unit tests and doctests alone (no notebook, no training): a few minutes
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

lab: setup        ## JupyterLab in the venv, on the notebooks (kernel python3 is the venv's)
	$(VENV)/bin/jupyter lab notebooks/

blogs: setup      ## real public data: the Blog Authorship Corpus sample -> examples/blogs/data/ (downloads 35 MB once)
	$(PY) -m confprofile.blogs

clean-runs:       ## delete run artifacts (data, caches, checkpoints); results/ stay
	rm -rf runs/
