# Winnow: `make run` starts the app on the demo workspace; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501
ADDRESS ?= 127.0.0.1
WORKSPACE ?= workspaces/demo
DEMO_SIZE ?= full
CHROMIUM := /usr/bin/chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test deps test-deps demo bench lint clean-demo

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt requirements-ray.txt  # the test file includes the Ray one
	$(PIP) install -q -r requirements-test.txt
	touch $@

deps: $(VENV)/.installed

test-deps: $(VENV)/.test-installed
	@test -x $(CHROMIUM) || (echo "installing Debian's chromium" && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: deps
	@test -d $(WORKSPACE)/docs || $(PY) -m core demo --workspace $(WORKSPACE) --size $(DEMO_SIZE)

run: demo
	$(PY) -m streamlit run app.py --server.headless true --server.address $(ADDRESS) --server.port $(PORT) \
		--browser.gatherUsageStats false -- --workspace $(WORKSPACE)

test: test-deps
	$(PY) -m pytest -q -p no:cacheprovider

lint: test-deps
	$(PY) -m ruff check core views app.py ui tests data bench tools

bench: deps
	$(PIP) install -q -r requirements-bench.txt
	$(PY) -m bench

clean-demo:
	rm -rf $(WORKSPACE)
