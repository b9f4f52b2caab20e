# The study's commands. `make` alone lists them.
#   make reproduce [PROFILE=smoke|default|paper]   environment, data, every notebook, HTML report
#   make test                                      unit tests + nbval on every notebook with smoke parameters
SHELL := /bin/bash
PROFILE ?= default
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KERNEL := study
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export MPLBACKEND := Agg

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NAMES := $(notdir $(basename $(NOTEBOOKS)))
HEADLINES := $(foreach n,$(NAMES),reports/$(n)/headline.json)
STUDY_SRC := $(wildcard study/*.py study/*/*.py)
VENV_STAMP := $(VENV)/.installed
DATA_STAMP := data/.verified

ifeq ($(filter $(PROFILE),smoke default paper),)
$(error PROFILE=$(PROFILE) is not one of smoke, default, paper)
endif

# Re-run notebooks when the profile changes (the stamp is rewritten only on a change).
$(shell mkdir -p build; [ "$$(cat build/profile 2>/dev/null)" = "$(PROFILE)" ] || echo "$(PROFILE)" > build/profile)

.PHONY: help reproduce env data notebooks report test unit nbval lab clean clean-runs
.DEFAULT_GOAL := help

help:  ## list the targets
	@echo "make reproduce [PROFILE=smoke|default|paper]  environment, data, every notebook, HTML report (default: $(PROFILE))"
	@echo "make test       unit tests + nbval on every notebook with smoke parameters"
	@echo "make report     HTML report from the executed notebooks in reports/"
	@echo "make data       fill and verify data/ (MNIST, Fashion-MNIST) from a mirror or the network"
	@echo "make env        create .venv with the pinned packages and the '$(KERNEL)' Jupyter kernel"
	@echo "make lab        JupyterLab on notebooks/ with the same kernel"
	@echo "make clean      remove reports/ outputs and build/ (keeps data/, runs/ and .venv)"
	@echo "make clean-runs remove the run store runs/ (every training run is recomputed next time)"
	@echo "environment: STUDY_EXECUTOR=serial|processes|dask  STUDY_WORKERS=N  STUDY_DASK_SCHEDULER=tcp://host:8786"
	@echo "             STUDY_RUNS=folder (run store, default runs/)  STUDY_THREADS=N (torch threads of the notebook)"

reproduce: env data notebooks report  ## the main job

env: $(VENV_STAMP)
$(VENV_STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . || $(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (study)" >/dev/null
	@touch $@

data: $(DATA_STAMP)
$(DATA_STAMP): study/data.py | $(VENV_STAMP)
	$(PY) -m study.data
	@touch $@

notebooks: $(HEADLINES)

# One executed notebook per source notebook; re-run when the notebook, its parameters, study/ or the profile change.
reports/%/headline.json: notebooks/%.ipynb notebooks/params/$(PROFILE)/%.yaml $(STUDY_SRC) build/profile | $(VENV_STAMP) $(DATA_STAMP)
	@mkdir -p reports/$*
	@echo "== $* (profile $(PROFILE))"
	@start=$$(date +%s); \
	cd notebooks && ../$(VENV)/bin/papermill --no-progress-bar --log-output -k $(KERNEL) --cwd . \
	  $*.ipynb ../reports/$*/$*.ipynb -f params/$(PROFILE)/$*.yaml \
	  -p profile $(PROFILE) -p out_dir ../reports/$* > ../reports/$*/papermill.log 2>&1 \
	  || { tail -n 40 ../reports/$*/papermill.log; exit 1; }; \
	echo "   done in $$(( $$(date +%s) - start )) s"
	@test -f $@ || { echo "$* did not write $@"; exit 1; }

report: | $(VENV_STAMP)
	$(PY) -m study.report reports

test: unit nbval

unit: $(VENV_STAMP) $(DATA_STAMP)
	$(PY) -m pytest -q tests

# nbval: prepare each notebook with the smoke parameters (not executed), then let nbval run and check it, with a run
# store of its own that starts empty (so nbval always exercises the training code, never the cache of a reproduce).
nbval: $(VENV_STAMP) $(DATA_STAMP)
	@rm -rf build/nbval && mkdir -p build/nbval
	@for n in $(NAMES); do \
	  $(VENV)/bin/papermill --prepare-only -k $(KERNEL) notebooks/$$n.ipynb build/nbval/$$n.ipynb \
	    -f notebooks/params/smoke/$$n.yaml -p profile smoke -p out_dir $(CURDIR)/build/nbval/out/$$n >/dev/null 2>&1 \
	    || { echo "papermill could not prepare $$n"; exit 1; }; \
	done
	STUDY_RUNS=$(CURDIR)/build/nbval/runs $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-kernel-name $(KERNEL) --nbval-cell-timeout 600 build/nbval

lab: $(VENV_STAMP)
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf build reports/*/ reports/index.html reports/*.html

clean-runs:
	rm -rf $${STUDY_RUNS:-runs}
