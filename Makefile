# The two Quick start commands: `make serve` and `make test`. Each does its own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install install-local test-local serve test lint typecheck format readme-questions vendor-web screenshots clean-data

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0      # the local CPU wheel, before anything pulls CUDA torch
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# `make serve PORT=9000 HOST=0.0.0.0`: only from make's command line, since a shell may export HOST (the
# machine's name in tcsh) or PORT for something else; in the environment, use BIZSQL_PORT and BIZSQL_HOST.
serve_flag = $(if $(filter command line override,$(origin $(1))),--$(2) $($(1)))

serve: install
	$(strip $(BIN)/bizsql serve $(call serve_flag,HOST,host) $(call serve_flag,PORT,port))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

# Opt-in, not part of `make test` or CI: llama-cpp-python compiles for some minutes, and the test runs a
# real model (SmolLM2-135M, installed from the package registry) through one whole turn.
# Not -march=native: on a CPU that reports AMX but whose VM does not enable it (ours), llama.cpp's AMX
# kernels die at their first matrix product (a general protection fault in ldtilecfg).
LOCAL_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

install-local: install
	CMAKE_ARGS="$(LOCAL_CMAKE_ARGS)" $(BIN)/python -m pip install -q -e '.[dev,local]'
	$(BIN)/bizsql model install smollm2-135m

test-local: install-local
	$(BIN)/pytest -q -m local_model tests/integration/graph/test_local_model.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

readme-questions: install   # the README's list of verified questions, from bizsql/demo/*/queries.py
	$(BIN)/python -m tests.unit.test_readme_verified_questions

vendor-web: install   # the chart libraries of the web page, from npm at the versions pinned in the script
	$(BIN)/python scripts/vendor_web.py

screenshots: install   # the README's screenshots, from the browser tests (needs Chromium)
	BIZSQL_SAVE_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser/test_chat_page.py

clean-data:
	rm -rf .bizsql
