# make demo / make test do all the set-up themselves from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench setup system-deps clean docs

setup: $(STAMP)

# a C compiler is the one system package mxcc needs at run time
system-deps:
	@command -v $${CC:-cc} >/dev/null 2>&1 || { \
	  echo "installing a C compiler (apt-get install gcc)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev; }

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,demo]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/tour.py
	cd examples && ../$(PY) digits_lenet.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/micro.py

docs: $(STAMP)
	$(PY) tools/gen_ops_doc.py

clean:
	rm -rf $(VENV) build *.egg-info
