# The README's commands: install, demo, test, bench. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: most end-to-end tests wait on loopback servers and subprocesses, so three
# share two cores well; a file's tests stay in one process (module fixtures are built once).
TEST_WORKERS ?= 3

.PHONY: install bytecode demo test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py qa_crawler/parsers/_linewalk.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Our modules' bytecode, as pip writes it for a package it installs (an editable install gets
# none): without it, where PYTHONDONTWRITEBYTECODE is set (as in many containers) every process
# of a crawl compiles the package again, 0.07 s or more of each one's start.
bytecode: install
	$(BIN)/python -m compileall -q -j 0 qa_crawler pipelines benchmarks

demo: bytecode
	$(BIN)/qa-crawler demo

test: bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m 'not slow'

bench: bytecode
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo -n"; \
	  $$SUDO apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
	  || echo "nginx-light could not be installed: the mirror is served by a Python server"; }
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) output/demo output/bench output/test-artifacts .pytest_cache
