# seqpipe developer entry points. `make run` and `make test` create the environment when needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Named corpora come from ../shared/data when it exists (CI and developer machines), else the cache/download.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/timemachine.txt),)
export SEQPIPE_DATA_DIR ?= $(SHARED_DATA)
endif
# Prefect stays local, offline and quiet.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_LOGGING_LEVEL ?= WARNING
export DASK_LOGGING__DISTRIBUTED ?= warning
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,arpa]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) flows/pipeline.py

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/count_bench.py

clean:
	rm -rf seqpipe-out .prefect
