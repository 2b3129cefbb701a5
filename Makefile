# The two commands of the README: `make demo` (set-up + the main job) and `make test`
# (set-up + the tests). `make install` alone sets up .venv and the released weights.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEED   := examples/prompts/000_d8520ca7f81b1e4f.txt
# A CPU build of torch: the local wheel where this machine has one, else PyTorch's CPU index.
# (An unpinned `torch` from PyPI would pull a multi-GB CUDA build.)
TORCH_WHEELS := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: install demo test test-fast bench goldens serve clean

install: $(STAMP)
	$(BIN)/cnaps weights pull liif-edsr-baseline

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
ifneq ($(TORCH_WHEELS),)
	$(BIN)/python -m pip install -q $(TORCH_WHEELS)
else
	$(BIN)/python -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
endif
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	touch $(STAMP)

demo: install
	$(BIN)/cnaps answer $(SEED) --out runs/demo

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# Regenerate every golden answer after an intended change: the fixtures' goldens and the
# complete example answers (markdown, HTML, JSON, images) of the seed prompts.
goldens: install
	$(BIN)/cnaps check tests/fixtures/prompts --update
	for p in examples/prompts/*.txt; do \
		$(BIN)/cnaps answer $$p --out examples/answers/$$(basename $$p .txt) || exit 1; done

# The workflow as a local web app and HTTP API: http://127.0.0.1:8000/ (docs at /docs).
serve: install
	$(BIN)/cnaps serve

bench: install
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) runs
