# Newsflow: the two commands are `make run` and `make test`; everything else
# is a step of theirs or a tool for developers. See README.md.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: help install up down status run stop-services test test-unit lint format typecheck \
        schemas eval bench clean-stack

help:
	@echo "make run      start everything, load the sample articles, print the UI address"
	@echo "make test     install what is missing, start the stack, run all tests"
	@echo "make down     stop the services and the stack"
	@echo "make up / status / install / lint / schemas / eval / bench"

install:
	@bash deploy/local/install.sh

up: install
	@bash deploy/local/stack.sh up

status:
	@bash deploy/local/stack.sh status || true
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

# The test command (README, .ci/run): unit and integration tests on the real stack.
test: up
	@$(BIN)/pytest -q -ra

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

# Throughput, latency, scaling, search and memory on the real local stack.
bench: up
	@$(PY) bench/run_bench.py

clean-stack: down
	rm -rf .stack/kafka/data .stack/elasticsearch/data .stack/redis
