# Newsflow: the two commands are `make run` and `make test`; everything else
# is a step of theirs or a tool for developers. See README.md.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# `make up CLUSTER=3`: the three-node rehearsal (deploy/local/cluster.sh)
# instead of the single-node stack.
CLUSTER ?= 1

.PHONY: help install up down status run stop-services test test-unit test-cluster lint \
        format typecheck schemas eval eval-entities eval-stories eval-search bench \
        helm-tools helm-check clean-stack

help:
	@echo "make run      start everything, load the sample articles, print the UI address"
	@echo "make test     install what is missing, start the stack, lint, type-check, run all tests"
	@echo "make down     stop the services and the stack"
	@echo "make up [CLUSTER=3] / status / install / lint / schemas / bench"
	@echo "make eval / eval-entities / eval-stories / eval-search   quality figures"

install:
	@bash deploy/local/install.sh

up: install
ifeq ($(CLUSTER),1)
	@bash deploy/local/stack.sh up
else ifeq ($(CLUSTER),3)
	@bash deploy/local/cluster.sh up
else
	$(error CLUSTER must be 1 or 3)
endif

status:
	@if [[ "$(CLUSTER)" == 3 ]]; then bash deploy/local/cluster.sh status || true; \
	 else bash deploy/local/stack.sh status || true; fi
	@bash deploy/local/services.sh status

run: up
	@bash deploy/local/services.sh start
	@$(BIN)/newsflow import samples/ --api-key "$$(cat .stack/api-key)"
	@echo
	@echo "Newsflow is running."
	@echo "  search UI and API   http://127.0.0.1:8000/        (API docs: /docs)"
	@echo "  ingestion API       http://127.0.0.1:8001/docs    (X-API-Key: $$(cat .stack/api-key))"
	@echo "  stop it with        make down"

stop-services:
	@bash deploy/local/services.sh stop

down: stop-services
	@bash deploy/local/stack.sh down
	@if [[ -f deploy/local/cluster.sh ]]; then bash deploy/local/cluster.sh down >/dev/null 2>&1 || true; fi

# The test command (README, .ci/run): lint and types first (cheap, and a
# failure there is a failure), then unit, integration, fault, security,
# cluster and chart tests on the real servers.
test: up lint helm-tools
	@$(BIN)/pytest -q -ra

# The fault tests of the three-node profile alone (they start and stop it).
test-cluster: install
	@$(BIN)/pytest -q -ra tests/cluster

test-unit: install
	@$(BIN)/pytest -q -m "not integration"

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

typecheck: install
	@$(BIN)/mypy

schemas: install
	@$(BIN)/newsflow schemas export

eval: install
	@$(PY) bench/eval_cleaning.py

# The sample corpus through the entities step, beside the step as it was before
# issue 13 (a snapshot of its output) and the bare model.
eval-entities: install
	@$(PY) bench/eval_entities.py --before bench/results/entities-before.json

eval-stories: install
	@$(PY) bench/eval_stories.py

eval-search: up
	@$(PY) bench/eval_search.py

# Throughput, latency, scaling, search and memory on the real local stack.
# Every figure the issues ask for, each beside its baseline of the same run:
# the pipeline (throughput, latency, scaling, search, memory), cleaning CPU per
# article, the stories step (CPU per article, memory after 100,000 articles),
# and subscriptions (1,000 and 10,000 saved searches under load).
bench: up
	@$(PY) bench/run_bench.py
	@$(PY) bench/cleaning_cpu.py
	@$(PY) bench/stories_cost.py --articles 100000 --redis 5000
	@$(PY) bench/subscriptions_bench.py

# Pinned helm, kubeconform and schemas for the chart tests (cached like the jars).
helm-tools: install
	@bash deploy/helm/tools.sh

helm-check: helm-tools
	@$(BIN)/pytest -q tests/deploy

clean-stack: down
	rm -rf .stack/kafka/data .stack/elasticsearch/data .stack/redis
