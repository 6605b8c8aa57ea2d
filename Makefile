# make demo: create the virtual environment, install, load the example statement on the embedded default (SQLite),
#   schedule its release two minutes ahead and run `serve` (API, site and scheduler) on http://127.0.0.1:8080/
#   until Ctrl-C: the edition appears on the site at its release time. DEMO_SERVE=0 publishes at once and stops.
# make test: install what the tests need and run the whole suite.
# make test-embargo: the embargo property test at length (hundreds of examples per engine).
# make test-deploy: build the container image here and run it, then the Compose stack (podman; minutes), see deploy/README.md.
# make deploy-tools: the Debian packages deploy/'s checks run (the PyPI ones come with the test extras).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
DEMO_PORT ?= 8080
DEMO_SERVE ?= 1

.PHONY: demo test test-drill test-embargo test-deploy bench install clean deploy-tools

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/policing-metrics db upgrade
ifneq ($(DEMO_SERVE),0)
	POLICING_METRICS_SITE_URL=http://127.0.0.1:$(DEMO_PORT)/ $(BIN)/policing-metrics demo
	@echo "Serving on http://127.0.0.1:$(DEMO_PORT)/ (API docs at /docs); the edition appears at its release time. Ctrl-C stops."
	POLICING_METRICS_SITE_URL=http://127.0.0.1:$(DEMO_PORT)/ $(BIN)/policing-metrics serve --port $(DEMO_PORT) --sweep-seconds 5
else
	POLICING_METRICS_SITE_URL=http://127.0.0.1:$(DEMO_PORT)/ $(BIN)/policing-metrics demo --publish-now
	$(BIN)/policing-metrics site check --to file://var/public --site-url http://127.0.0.1:$(DEMO_PORT)/
endif

# axe-core for the browser tests, at the version package-lock.json pins.
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

test: $(STAMP) $(NODE_STAMP) deploy-tools
	$(BIN)/python -m pytest

test-deploy: $(STAMP) deploy-tools
	$(MAKE) deploy-tools DEPLOY_TOOLS="mmdebstrap:mmdebstrap /usr/lib/cni/dnsname:golang-github-containernetworking-plugin-dnsname"
	$(BIN)/python -m pytest -m deploy tests/test_deploy_image.py tests/test_deploy_compose.py

# Installs only what is missing (apt-get needs root, as on CI); kubectl and systemd-analyze come with the machine.
# podman: podman-compose (the Compose check) asks for it even to print the resolved file.
DEPLOY_TOOLS := haproxy:haproxy promtool:prometheus podman:podman
deploy-tools:
	@missing="$$(for pair in $(DEPLOY_TOOLS); do command -v "$${pair%%:*}" >/dev/null || echo "$${pair#*:}"; done)"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The failure drill alone (it also runs in `make test`): real processes, faults, a printed summary.
test-drill: $(STAMP)
	VENV=$(VENV) deploy/drill/run

# The embargo property at length (marker soak; minutes): POLICING_METRICS_EMBARGO_EXAMPLES examples (400) per engine.
test-embargo: $(STAMP)
	$(BIN)/python -m pytest -m soak tests/test_embargo_property.py

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench scorecard
	$(BIN)/python -m bench publish
	$(BIN)/python -m bench http

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .hypothesis
