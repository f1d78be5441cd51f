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

FASHION := /usr/share/datasets/fashion-mnist

# make demo: a tour of mx.nd, then LeNet trained with Module.fit on scikit-learn's digits, then that
# model as a standalone C bundle (mxcc compile + make) classifying the held-out digits without Python.
# make demo DATA=fashion: the seed's LeNet program on Fashion-MNIST (Debian's dataset-fashion-mnist).
demo: $(STAMP)
ifeq ($(DATA),fashion)
	@test -d $(FASHION) || { echo "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist" \
	  "(it installs the idx files under $(FASHION))"; exit 1; }
	$(PY) examples/mnist_lenet.py $(FASHION)/train-images-idx3-ubyte.gz $(FASHION)/train-labels-idx1-ubyte.gz \
	  $(FASHION)/t10k-images-idx3-ubyte.gz $(FASHION)/t10k-labels-idx1-ubyte.gz
else
	$(PY) examples/tour.py
	cd examples && ../$(PY) digits_lenet.py
	cd examples && ../$(PY) digits_bundle.py
endif

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# -n auto: kernels compile in both pytest workers on a cold cache (one cc per core)
test: $(STAMP) lint
	$(PY) -m pytest -q -n auto

bench: $(STAMP)
	$(PY) benchmarks/micro.py

docs: $(STAMP)
	$(PY) tools/gen_ops_doc.py

clean:
	rm -rf $(VENV) build *.egg-info
