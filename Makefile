# windflow: every command a user runs is a target here (and a `windflow` CLI command).
# `make help` lists them. Each target installs what it needs, so a fresh clone works with `make demo` / `make test`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE      ?= node
PYTHON    ?= python3
VENV      := .venv
ORACLEVENV := .venv-oracle
# Apache Airflow 3 (pinned), for the tests of `dags export --to airflow` against the real thing. Test-only.
AIRFLOWVENV := .venv-airflow
WINDFLOW  := $(NODE) dist/cli/main.js
TSC       := $(NODE) node_modules/typescript/bin/tsc
BIOME     := node_modules/.bin/biome
PIP_FLAGS := --disable-pip-version-check --no-input -q
# auto: download the course file, synthesize it when the network is unreachable; or download, or synthetic.
DATASET   ?= auto
SEED      ?= 42
TESTS     ?= tests/*.test.ts tests/adversarial/*.test.ts
# LANG=fr on make's command line (make lab LANG=fr, make lab-student LANG=fr, make notebooks LANG=fr): the notebooks'
# language, passed as --lang (en, the default, or fr; another value is refused by windflow naming them). LANG is also
# the locale variable, so only a command-line LANG counts (a French desktop's LANG=fr_FR.UTF-8 does not switch the
# notebooks), and that one is not exported: `fr` is no locale, and commands started here keep the C locale rather
# than run under an invalid one.
ifeq ($(origin LANG),command line)
NOTEBOOK_LANG := --lang $(LANG)
unexport LANG
endif
# NATIVE_TF=0: no native TensorFlow backend (skips scripts/native-tf.sh and its 207 MB download); wasm is used.
NATIVE_TF ?= 1
NATIVE_TF_STAMP := $(if $(filter 0,$(NATIVE_TF)),,node_modules/.native-tf)

# The fast lane: tests that start no process and open no server (tests/helpers/pure-guard.ts enforces it).
FAST_TESTS := $(patsubst %,tests/%.test.ts,adversarial/guessing-pure adversarial/inputs-pure adversarial/logs-pure atomic backend config danfo errors features figures i18n io load log-follow model model-backends notebooks-fr pipeline safe-next synthetic \
  orchestration-dag orchestration-loader orchestration-readiness orchestration-schedule orchestration-state \
  orchestration-test-run scheduler-decide store-contract store-sqlite light-start check-layers airflow-export kernel-status)

SOURCES := $(shell find src -name '*.ts' -o -name '*.css' 2>/dev/null) tsconfig.json tsconfig.build.json scripts/build-ui.mjs

.PHONY: help install build dataset demo test test-fast test-stress lint format student notebooks ui lab lab-student doctor bench calibrate clean distclean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: node_modules/.installed $(NATIVE_TF_STAMP) $(VENV)/.installed dist/.built .jupyter/data/kernels/tslab/kernel.json ## Install everything (npm ci, native TensorFlow backend, Python venv with JupyterLab, tslab kernelspec); fast when nothing changed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The native TensorFlow backend (tfjs-node-native): libtensorflow from PyPI's tensorflow-cpu wheel (cached in
# .cache/tensorflow/), the addon compiled here. The script touches the stamp only when the backend works; when a
# step fails it prints one line, exits 0 and wasm stays the backend (the next `make install` tries again).
node_modules/.native-tf: node_modules/.installed scripts/native-tf.sh
	@NATIVE_TF_STAMP=$@ bash scripts/native-tf.sh

$(VENV)/.installed: requirements/jupyter.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements/jupyter.txt
	@touch $@

$(ORACLEVENV)/.installed: requirements/oracle.txt
	@test -x $(ORACLEVENV)/bin/python || $(PYTHON) -m venv $(ORACLEVENV)
	$(ORACLEVENV)/bin/pip install $(PIP_FLAGS) -r requirements/oracle.txt
	@touch $@

$(AIRFLOWVENV)/.installed: requirements/airflow.txt
	@test -x $(AIRFLOWVENV)/bin/python || $(PYTHON) -m venv $(AIRFLOWVENV)
	$(AIRFLOWVENV)/bin/pip install $(PIP_FLAGS) -r requirements/airflow.txt
	@touch $@

.venv-course/.installed: requirements/course.txt
	@test -x .venv-course/bin/python || $(PYTHON) -m venv .venv-course
	.venv-course/bin/pip install $(PIP_FLAGS) -r requirements/course.txt
	@touch $@

dist/.built: node_modules/.installed $(SOURCES)
	$(TSC) -p tsconfig.build.json
	$(NODE) scripts/build-ui.mjs
	@touch $@

build: dist/.built ## Compile src/ to dist/ (what notebooks import as "windflow")

.jupyter/data/kernels/tslab/kernel.json: dist/.built
	$(WINDFLOW) kernelspec
	@touch $@

dataset: node_modules/.installed dist/.built ## Write data/la-haute-borne-data-2017-2020.csv (DATASET=auto|download|synthetic, SEED=42)
	$(WINDFLOW) dataset --source $(DATASET) --seed $(SEED) $(if $(FORCE),--force)

demo: install dataset ## Run the main job on the embedded defaults: train DAG, then predict DAG (dated prediction CSV)
	$(WINDFLOW) data describe
	$(WINDFLOW) db init
	$(WINDFLOW) dags trigger train --wait
	$(WINDFLOW) dags trigger get_data_from_engie_hub --wait
	$(WINDFLOW) dags trigger predict --wait
	@echo "predictions: data/predictions/$$(ls -1 data/predictions | grep -v latest | sort | tail -n 1) (and data/predictions/latest.csv); runs and logs in .windflow/ (windflow dags list-runs)"

lint: node_modules/.installed dist/.built ## Lint, format check and type check (bench/ imports the build)
	$(BIOME) check --error-on-warnings .
	$(TSC) -p tsconfig.json --noEmit
	$(NODE) --import tsx scripts/check-layers.ts

format: node_modules/.installed ## Format the code in place
	$(BIOME) check --write .

test: install $(ORACLEVENV)/.installed $(AIRFLOWVENV)/.installed lint ## Run every test (lint included)
	$(NODE) --import tsx --test --test-reporter=spec --test-reporter-destination=stdout --test-concurrency=1 $(TESTS)

test-fast: node_modules/.installed dist/.built ## The pure tests only (no process, server or browser), for the edit-test loop; no lint
	$(NODE) --import tsx --import ./tests/helpers/pure-guard.ts --test --test-concurrency=2 --test-reporter=spec --test-reporter-destination=stdout $(FAST_TESTS)

test-stress: install $(ORACLEVENV)/.installed $(AIRFLOWVENV)/.installed lint ## The whole suite RUNS=10 times with both cores kept busy (LOAD=2); summary in artifacts/stress/
	RUNS=$(or $(RUNS),10) FROM=$(or $(FROM),1) LOAD=$(or $(LOAD),2) TESTS='$(TESTS)' bash scripts/test-stress.sh

student: node_modules/.installed dist/.built ## The trainee's version in build/student/ (solutions replaced by TODO stubs), ready to hand out
	$(WINDFLOW) student --output build/student

notebooks: install ## Run every notebook headless (solutions) and report the time; NOTEBOOKS_STUDENT=1 runs the trainee's version; LANG=fr the French ones
	$(WINDFLOW) notebooks run $(if $(NOTEBOOKS_STUDENT),--student) $(NOTEBOOK_LANG) --output artifacts/notebooks

ui: install ## Start the web UI and a scheduler (windflow standalone): prints the URL and how to sign in
	$(WINDFLOW) standalone

lab: install ## Start JupyterLab on 127.0.0.1 with the notebooks and the TypeScript kernel; LANG=fr opens the French notebooks
	$(WINDFLOW) lab $(NOTEBOOK_LANG)

lab-student: install ## JupyterLab on the trainee's version (trainee/: exercises as TODOs, made once, then kept); LANG=fr in French
	$(WINDFLOW) lab --student $(NOTEBOOK_LANG)

doctor: node_modules/.installed dist/.built ## Check this machine's set-up and say how to fix what is missing
	$(WINDFLOW) doctor

calibrate: dataset ## Compare the synthetic data with the real extracts (table + artifacts/calibration.html)
	$(NODE) --import tsx scripts/calibrate.ts data/la-haute-borne-data-2017-2020.csv

bench: install $(ORACLEVENV)/.installed .venv-course/.installed $(AIRFLOWVENV)/.installed ## Benchmarks, as ratios against anchors measured in the same run
	$(NODE) --import tsx bench/run.ts

clean: ## Remove build outputs and test artifacts (keeps data/ and the installs)
	rm -rf dist artifacts .windflow build .e2e

distclean: clean ## Also remove node_modules, the venvs and the Jupyter dir
	rm -rf node_modules $(VENV) $(ORACLEVENV) $(AIRFLOWVENV) .venv-course .jupyter
