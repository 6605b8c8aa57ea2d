# make demo: create the virtual environment, install, load the example statement on the embedded default (SQLite),
#   publish it to var/public/ and serve that folder on http://127.0.0.1:8080/ until Ctrl-C (DEMO_SERVE=0: do not serve).
# make test: install what the tests need and run the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8080
DEMO_SERVE ?= 1

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/policing-metrics db upgrade
	$(BIN)/policing-metrics examples load
	$(BIN)/policing-metrics publish 2022-02 --to file://var/public --site-url http://127.0.0.1:$(DEMO_PORT)/ \
		--override-reason "the demo publishes the example at once"
	$(BIN)/policing-metrics site check --to file://var/public --site-url http://127.0.0.1:$(DEMO_PORT)/
ifneq ($(DEMO_SERVE),0)
	$(BIN)/policing-metrics site serve --dir var/public --port $(DEMO_PORT)
endif

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
