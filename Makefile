# The study's commands. `make` alone lists them.
#   make reproduce [PROFILE=smoke|default|paper]   environment, data, every notebook, HTML report
#   make test                                      ruff + mypy on study/ (lint), unit tests, nbval on every notebook
#                                                  with smoke parameters, then the report of nbval's outputs built
#                                                  and checked (report-check)
SHELL := /bin/bash
PROFILE ?= default
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KERNEL := study
PAPERMILL ?= $(abspath $(VENV))/bin/papermill
# `make lab`: JupyterLab refuses to start as root without --allow-root, so it is added for root; LAB_ARGS adds flags.
LAB_ARGS ?=
LAB_FLAGS = $(strip $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS))
export JUPYTER_PATH := $(abspath $(VENV))/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export MPLBACKEND := Agg

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NAMES := $(notdir $(basename $(NOTEBOOKS)))
HEADLINES := $(foreach n,$(NAMES),reports/$(n)/headline.json)
STUDY_SRC := $(wildcard study/*.py study/*/*.py study/*/*/*.py)
VENV_STAMP := $(VENV)/.installed
DATA_STAMP := data/.verified

ifeq ($(filter $(PROFILE),smoke default paper),)
$(error PROFILE=$(PROFILE) is not one of smoke, default, paper)
endif

.PHONY: help reproduce env data notebooks report report-check test lint unit nbval lab clean clean-runs machine-check FORCE
.DEFAULT_GOAL := help

help:  ## list the targets
	@echo "make reproduce [PROFILE=smoke|default|paper]  environment, data, every notebook, HTML report (default: $(PROFILE))"
	@echo "make test       ruff + mypy on study/, unit tests, nbval on every notebook with smoke parameters, the report of those outputs checked"
	@echo "make report     HTML report from the executed notebooks in reports/ (exit 1 if a headline.json is unreadable)"
	@echo "make report-check  the report of nbval's smoke outputs (build/nbval/report), its links, anchors, claims checked"
	@echo "make data       fill and verify data/ (MNIST, Fashion-MNIST) from a mirror or the network"
	@echo "make env        create .venv with the pinned packages and the '$(KERNEL)' Jupyter kernel"
	@echo "make machine-check NB=02_rvsm_curves CAPABILITY=default  re-run a sample of NB's runs under other CPU kernels"
	@echo "make lab        JupyterLab on notebooks/ with the same kernel: jupyter lab $(LAB_FLAGS) (LAB_ARGS='...' adds flags)"
	@echo "make clean      remove reports/ outputs and build/ (keeps data/, runs/ and .venv)"
	@echo "make clean-runs remove the run store runs/ (every training run is recomputed next time)"
	@echo "environment: STUDY_EXECUTOR=serial|processes|dask  STUDY_WORKERS=N  STUDY_DASK_SCHEDULER=tcp://host:8786"
	@echo "             STUDY_RUNS=folder (run store, default runs/)  STUDY_THREADS=N (torch threads of the notebook)"

# The main job. Every notebook is executed even when one fails (-k: they are independent), then the report is
# written in any case, showing failed notebooks as failed; the exit status says whether all of them succeeded.
# One writer per checkout: a second `make reproduce` (or `make notebooks`) refuses while one runs (flock on
# build/.reproduce.lock), naming the lock. On an interrupt (Ctrl-C, kill) the index is rewritten, so it never shows an
# interrupted notebook as current.
LOCK := build/.reproduce.lock
reproduce: env data
	@mkdir -p build; exec 9>$(LOCK); flock -n 9 || { echo "make reproduce: another make reproduce is running in this \
	checkout ($(LOCK) is locked); wait for it to finish or stop it"; exit 2; }; \
	trap '$(MAKE) --no-print-directory report >/dev/null 2>&1; echo "make reproduce: interrupted; reports/index.html \
	shows the interrupted notebook"; exit 130' INT TERM; \
	rc=0; $(MAKE) --no-print-directory -k notebooks || rc=1; $(MAKE) --no-print-directory report || rc=1; \
	[ $$rc -eq 0 ] || echo "make reproduce: a notebook failed; reports/index.html shows which, with its log"; \
	exit $$rc

env: $(VENV_STAMP)
$(VENV_STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . || $(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (study)" >/dev/null
	@touch $@

# `make data` always re-verifies every file (MD5 of 4 files per set: under a second); other targets need the stamp.
data: | $(VENV_STAMP)
	$(PY) -m study.data
	@touch $(DATA_STAMP)
$(DATA_STAMP): study/data.py | $(VENV_STAMP)
	$(PY) -m study.data
	@touch $@

notebooks: $(HEADLINES)

# A notebook whose last execution failed (reports/<nb>/FAILED.json) or was interrupted (reports/.<nb>.tmp/ left) is
# executed again by the next `make reproduce`, whatever the timestamps say.
RETRY := $(patsubst reports/%/FAILED.json,%,$(wildcard reports/*/FAILED.json)) \
         $(patsubst reports/.%.tmp,%,$(wildcard reports/.[0-9]*.tmp))
$(foreach n,$(sort $(filter $(NAMES),$(RETRY))),$(eval reports/$(n)/headline.json: FORCE))

# The profile the notebooks in reports/ were last executed with. Only the notebook rule needs it, so only targets that
# execute notebooks (reproduce, notebooks, reports/<nb>/headline.json) rewrite it, and only when PROFILE changed:
# `make help`, `make report` or `make data` never make the next `make reproduce` re-run the notebooks.
build/profile: FORCE
	@mkdir -p build; [ "$$(cat $@ 2>/dev/null)" = "$(PROFILE)" ] || echo "$(PROFILE)" > $@
FORCE:

# One executed notebook per source notebook; re-run when the notebook, its parameters, study/ or the profile change.
# A notebook's outputs are replaced as a unit: papermill executes into reports/.<nb>.tmp/ (with inputs.json: what
# it runs with), which replaces reports/<nb>/ only once the notebook finished and wrote headline.json. On a failure
# the previous outputs stay, marked stale by reports/<nb>/FAILED.json, with the failed run in reports/<nb>/failed/;
# a killed run leaves reports/.<nb>.tmp/ behind. The report shows either as failed, never the old verdicts.
.PRECIOUS: reports/%/headline.json
reports/%/headline.json: notebooks/%.ipynb notebooks/params/$(PROFILE)/%.yaml $(STUDY_SRC) build/profile | $(VENV_STAMP) $(DATA_STAMP)
	@echo "== $* (profile $(PROFILE))"
	@tmp=reports/.$*.tmp; start=$$(date +%s); \
	rm -rf $$tmp && mkdir -p $$tmp && $(PY) -m study.report inputs $* --profile $(PROFILE) > $$tmp/inputs.json \
	  || { echo "could not record the inputs of $* in $$tmp/inputs.json"; exit 1; }; \
	$(PY) -m study.report reports --no-render --profile $(PROFILE) >/dev/null 2>&1 || true; \
	if (cd notebooks && $(PAPERMILL) --no-progress-bar --log-output -k $(KERNEL) --cwd . \
	      $*.ipynb ../$$tmp/$*.ipynb -f params/$(PROFILE)/$*.yaml \
	      -p profile $(PROFILE) -p out_dir ../$$tmp) > $$tmp/papermill.log 2>&1; \
	then $(PY) -m study.report install $$tmp reports/$*; \
	else rc=$$?; tail -n 40 $$tmp/papermill.log; $(PY) -m study.report fail $$tmp reports/$* --exit-code $$rc; \
	fi || exit 1; \
	echo "   done in $$(( $$(date +%s) - start )) s"
	@test -f $@ || { echo "$* did not write $@"; exit 1; }

# Reads build/profile (never writes it): notebooks run with another profile are flagged as outdated. Notebooks not run
# are listed with the command that runs them; an unreadable headline.json is shown as an error naming the file and
# makes the command exit 1 (the index is written all the same).
report: | $(VENV_STAMP)
	$(PY) -m study.report reports --profile "$$(cat build/profile 2>/dev/null)"

test: lint unit nbval report-check

# lint: ruff (lint and format check; rules in pyproject.toml) and mypy (pyproject.toml [tool.mypy]) on study/
lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check study
	$(VENV)/bin/ruff format --check study
	$(VENV)/bin/mypy

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

# report-check: the report built from the smoke outputs nbval wrote (build/nbval/out/<nb>/; the prepared notebook
# build/nbval/<nb>.ipynb stands in for the executed one: same cells and cell ids, no outputs) into build/nbval/report,
# then checked as HTML by tests/test_report_html.py: every link, image and TOC anchor resolves, every claim of every
# headline.json is in its table, every figure has a caption, no nan/None in a table. Under `make test` it runs after
# nbval; alone it checks the outputs of the last nbval.
REPORT_CHECK := build/nbval/report
report-check: $(VENV_STAMP) | $(if $(filter test,$(MAKECMDGOALS)),nbval)
	@test -d build/nbval/out || { echo "report-check: no build/nbval/out: run make nbval first"; exit 1; }
	@rm -rf $(REPORT_CHECK) && mkdir -p $(REPORT_CHECK)
	@for n in $(NAMES); do \
	  if [ -f build/nbval/out/$$n/headline.json ]; then \
	    cp -r build/nbval/out/$$n $(REPORT_CHECK)/$$n && cp build/nbval/$$n.ipynb $(REPORT_CHECK)/$$n/$$n.ipynb; \
	  else echo "report-check: $$n wrote no build/nbval/out/$$n/headline.json (shown as not run)"; fi; \
	done
	$(PY) -m study.report $(REPORT_CHECK) --profile smoke --root .
	STUDY_REPORT_DIR=$(CURDIR)/$(REPORT_CHECK) $(PY) -m pytest -q -p no:cacheprovider tests/test_report_html.py

# The machine check (issue 17; not part of reproduce): re-run the lowest seed of every run family of notebook NB
# under other CPU kernels (CAPABILITY=default|avx2|avx512) against a copy of the run store, and mark the claims
# whose verdict changes "machine-sensitive" in the report (reports/NB/machine_check.json).
NB ?= 02_rvsm_curves
CAPABILITY ?= default
machine-check: | $(VENV_STAMP) $(DATA_STAMP)
	$(PY) -m study.machine_check $(NB) --capability $(CAPABILITY)
	$(MAKE) --no-print-directory report

lab: $(VENV_STAMP)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks

clean:
	rm -rf build reports/*/ reports/.[0-9]*.tmp reports/.[0-9]*.old reports/index.html reports/*.html

clean-runs:
	rm -rf $${STUDY_RUNS:-runs}
