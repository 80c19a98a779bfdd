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

PREFECT_PORT ?= 4200
SERVER_API := http://127.0.0.1:$(PREFECT_PORT)/api

.PHONY: install run test bench clean server server-stop deploy worker serve

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,arpa]'
	# Prefect's database now, not in the first `make run` (its migrations took ~6 s of that run's minute)
	$(VENV)/bin/prefect server database upgrade -y >/dev/null
	touch $(STAMP)

run: $(STAMP)
	PREFECT_LOGGING_LEVEL=INFO $(PY) -m flows

test: $(STAMP)
	$(PY) -m pytest

# Figures, not tests: run on an otherwise idle machine (see README "Benchmarks").
bench: $(STAMP)
	$(PY) bench/count_bench.py
	$(PY) bench/refresh_bench.py
	$(PY) bench/scale_bench.py --scales 1,4
	$(PY) bench/rnn_bench.py

# --- a real Prefect server (SQLite under .prefect/), deployments and a worker -------------------------
server: $(STAMP)
	PREFECT_SERVER_API_HOST=127.0.0.1 $(VENV)/bin/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT) --background
	@for i in $$(seq 1 120); do curl -sf $(SERVER_API)/health >/dev/null && break; sleep 0.5; done
	@curl -sf $(SERVER_API)/health >/dev/null && echo "Prefect server: http://127.0.0.1:$(PREFECT_PORT) (stop with: make server-stop)"

server-stop:
	$(VENV)/bin/prefect server stop

deploy: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(VENV)/bin/prefect work-pool inspect seqpipe-process >/dev/null 2>&1 || \
	  PREFECT_API_URL=$(SERVER_API) $(VENV)/bin/prefect work-pool create seqpipe-process --type process
	PREFECT_API_URL=$(SERVER_API) $(VENV)/bin/prefect --no-prompt deploy --all

worker: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) PREFECT_LOGGING_LEVEL=INFO $(VENV)/bin/prefect worker start --pool seqpipe-process --type process

serve: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) PREFECT_LOGGING_LEVEL=INFO $(PY) -m flows.serve

clean:
	rm -rf seqpipe-out .prefect
