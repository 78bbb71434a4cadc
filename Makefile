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

clean:
	rm -rf $(VENV) out build dist .pytest_cache
