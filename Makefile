# Set-up and everyday commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN_DIR ?= runs/pipeline
IMAGE ?= ghcr.io/glasses-ml/glasses
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
BUILD := docker buildx build -f docker/Dockerfile --build-arg VERSION=$(VERSION)

.PHONY: install run score-run compile image push lock test test-image lint format bench bench-faults clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: the whole KFP pipeline on built-in synthetic data, with KFP's local runner
run: $(STAMP)
	$(PY) pipeline.py --run-local --pipeline-root $(RUN_DIR) \
		--max-trials 2 --tune-epochs 4 --epochs 20

## make score-run: the production loop locally: a training run publishes to a registry, then
## the scoring pipeline scores a new synthetic batch with it, twice (the second run: new faces only)
SCORE_DIR ?= runs/score-run
score-run: $(STAMP)
	$(PY) pipeline.py --run-local --pipeline-root $(SCORE_DIR) --tuner none --epochs 10 \
		--model-registry $(abspath $(SCORE_DIR))/registry
	test -d $(SCORE_DIR)/gan || $(VENV)/bin/glasses synth $(SCORE_DIR)/gan-raw --count 60 --size 256 \
		--unlabelled-fraction 0 --seed 7
	mkdir -p $(SCORE_DIR)/gan && cp -n $(SCORE_DIR)/gan-raw/faces-spring-2020/faces-spring-2020/face-[1-3]?.png $(SCORE_DIR)/gan/
	$(PY) pipeline.py --pipeline scoring --run-local --pipeline-root $(SCORE_DIR)/scoring \
		--model-registry $(abspath $(SCORE_DIR))/registry --source $(abspath $(SCORE_DIR))/gan \
		--review-output $(abspath $(SCORE_DIR))/review
	cp -n $(SCORE_DIR)/gan-raw/faces-spring-2020/faces-spring-2020/face-[4-5]?.png $(SCORE_DIR)/gan/
	$(PY) pipeline.py --pipeline scoring --run-local --pipeline-root $(SCORE_DIR)/scoring \
		--model-registry $(abspath $(SCORE_DIR))/registry --source $(abspath $(SCORE_DIR))/gan \
		--review-output $(abspath $(SCORE_DIR))/review

## make compile: every pipeline's YAML to upload in the KFP UI, using IMAGE:VERSION
compile: $(STAMP)
	$(PY) pipeline.py --compile --output glasses_pipeline.yaml --image $(IMAGE):$(VERSION)
	$(PY) pipeline.py --pipeline scoring --compile --output glasses_scoring_pipeline.yaml \
		--image $(IMAGE):$(VERSION)
	$(PY) pipeline.py --pipeline experiments --compile \
		--output glasses_experiments_pipeline.yaml --image $(IMAGE):$(VERSION)

## make image / make push: IMAGE:VERSION (gpu target) and IMAGE:VERSION-cpu, with docker buildx
image:
	$(BUILD) --target gpu -t $(IMAGE):$(VERSION) --load .
	$(BUILD) --target cpu -t $(IMAGE):$(VERSION)-cpu --load .

push:
	$(BUILD) --target gpu -t $(IMAGE):$(VERSION) --push .
	$(BUILD) --target cpu -t $(IMAGE):$(VERSION)-cpu --push .

## make lock: re-pin docker/requirements.lock after changing dependencies
lock: $(STAMP)
	$(PY) docker/make_lock.py

## make test: every test but the image's, on every core (pytest-xdist); the quick loop is
## .venv/bin/python -m pytest -m "not slow"
test: $(STAMP)
	$(PY) -m pytest -q

## make test-image: build the image (on a stand-in base) and run the README's docker commands
## and the whole DAG in it; starts a Docker engine when none is reachable (needs root)
test-image: $(STAMP)
	$(PY) -m pytest -q -n 0 -m image tests/test_image.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-faults: $(STAMP)  # faults injected and survived (docs/figures.md)
	$(PY) benchmarks/faults.py

clean:
	rm -rf runs glasses_pipeline.yaml glasses_scoring_pipeline.yaml bench-out .pytest_cache .mypy_cache .ruff_cache
