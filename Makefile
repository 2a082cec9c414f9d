# Set-up and everyday commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN_DIR ?= runs/local

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: the whole flow on built-in synthetic data, locally
run: $(STAMP)
	$(VENV)/bin/glasses synth $(RUN_DIR)/raw --count 1500 --size 256 --label-noise 0.05
	$(VENV)/bin/glasses ingest --source $(RUN_DIR)/raw --output $(RUN_DIR)/ingested
	$(VENV)/bin/glasses shard --manifest $(RUN_DIR)/ingested/manifest.csv --output $(RUN_DIR)/shards --resolution 64
	$(VENV)/bin/glasses train --data $(RUN_DIR)/shards --output $(RUN_DIR)/model --epochs 20
	$(VENV)/bin/glasses evaluate --data $(RUN_DIR)/shards --model $(RUN_DIR)/model --output $(RUN_DIR)/eval
	$(VENV)/bin/glasses score --model $(RUN_DIR)/model --source $(RUN_DIR)/shards --output $(RUN_DIR)/predictions
	@echo "model: $(RUN_DIR)/model/model.keras  report: $(RUN_DIR)/eval/report.html"
	@echo "predictions: $(RUN_DIR)/predictions/predictions.csv"

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(RUN_DIR) bench-out .pytest_cache .mypy_cache .ruff_cache
