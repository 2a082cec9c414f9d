# Set-up and everyday commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN_DIR ?= runs/pipeline

.PHONY: install run compile test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: the whole KFP pipeline on built-in synthetic data, with KFP's local runner
run: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) pipeline.py --run-local --pipeline-root $(RUN_DIR) \
		--max-trials 2 --tune-epochs 4 --epochs 20

## make compile: the pipeline YAML to upload in the KFP UI (IMAGE overrides the image)
compile: $(STAMP)
	$(PY) pipeline.py --compile --output glasses_pipeline.yaml $(if $(IMAGE),--image $(IMAGE))

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
	rm -rf runs glasses_pipeline.yaml bench-out .pytest_cache .mypy_cache .ruff_cache
