# kamal.deploy — the two commands a new machine needs: `make demo` and `make test`.
# Every target installs what it is missing (virtualenv, Debian packages, lab images) and is fast when
# everything is already there. Each stage prints the time it took.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/build/collections
INSTALLED := $(COLLECTIONS)/ansible_collections/kamal/deploy
SANITY_ROOT := $(CURDIR)/build/sanity/ansible_collections/kamal/deploy
SANITY_VENV := $(CURDIR)/build/sanity-venv
ANSIBLE_CORE := $(shell sed -n 's/^ansible-core==//p' requirements.txt)
LAB := $(BIN)/python tests/lab/lab.py
# stdin from /dev/null: ansible refuses a non-blocking stdin, and no test reads it.
PYTEST := KAMAL_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/pytest </dev/null
# `timed NAME`: wraps a recipe line, printing how long the stage took.
timed = t0=$$(date +%s); trap 'echo "== $(1): $$(( $$(date +%s) - t0 )) s"' EXIT;

.PHONY: help demo test venv collection lab lab-down unit sanity lint integration molecule bench bench-quick clean

help:
	@echo "make demo   start the lab and deploy the demo app (prints its URL)"
	@echo "make test   every test: sanity, unit, integration against the lab, molecule"
	@echo "make lab | lab-down | unit | sanity | lint | integration | molecule | bench | bench-quick | collection | clean"

# The virtualenv is rebuilt when requirements.txt changes.
$(VENV)/.stamp: requirements.txt
	@$(call timed,venv) \
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); \
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt; \
	touch $@
venv: $(VENV)/.stamp

# Build the collection tarball and install it where the tests and playbooks look for it.
collection: venv
	@$(call timed,collection) \
	rm -rf build/dist && mkdir -p build/dist $(COLLECTIONS); \
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist . >/dev/null; \
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) build/dist/kamal-deploy-*.tar.gz >/dev/null; \
	echo "installed kamal.deploy $$(sed -n 's/^version: //p' galaxy.yml) into $(COLLECTIONS)"

lab: venv
	@$(call timed,lab) \
	$(LAB) deps && $(LAB) up

lab-down: venv
	$(LAB) down

unit: collection
	@$(call timed,unit) $(PYTEST) -q tests/unit

# ansible-test needs the collection at ansible_collections/kamal/deploy, in a git checkout: a copy of
# the files git knows about (tracked, and untracked but not ignored), so build output never leaks in.
# It runs from a virtualenv of its own (its sanity tests pin their own tool versions) and gets pip
# into its per-test virtualenvs through tests/tools/get_pip.py (its usual download host is unreachable).
$(SANITY_VENV)/.stamp: requirements.txt
	@[ -x $(SANITY_VENV)/bin/python ] || $(PYTHON) -m venv $(SANITY_VENV)
	@$(SANITY_VENV)/bin/pip install -q --disable-pip-version-check ansible-core==$(ANSIBLE_CORE)
	@touch $@

sanity: $(SANITY_VENV)/.stamp
	@$(call timed,sanity) \
	pipv=$$(grep -oP "pip='\K[0-9.]+" $$($(SANITY_VENV)/bin/python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py | tr . _); \
	mkdir -p ~/.ansible/test/cache && cp tests/tools/get_pip.py ~/.ansible/test/cache/get_pip_$$pipv.py; \
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT); \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT); \
	cd $(SANITY_ROOT) && git init -q && git add -A; \
	PATH=$(SANITY_VENV)/bin:$$PATH ansible-test sanity --venv --python 3.11 --color no

# ansible-lint (.ansible-lint: production profile, offline) on roles/ and playbooks/, with kamal.deploy
# resolved from the collection `make collection` installed; then ansible-test sanity.
lint: collection
	@$(call timed,ansible-lint) \
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PATH=$(BIN):$$PATH $(BIN)/ansible-lint --offline --nocolor roles playbooks </dev/null
	@$(MAKE) --no-print-directory sanity

integration: collection lab
	@$(call timed,integration) $(PYTEST) -q tests/integration

molecule: collection lab
	@$(call timed,molecule) \
	cd extensions && PATH=$(BIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/molecule test --all </dev/null

test: venv
	@$(call timed,make test) \
	$(MAKE) --no-print-directory unit; \
	$(MAKE) --no-print-directory lint; \
	$(MAKE) --no-print-directory integration; \
	$(MAKE) --no-print-directory molecule

demo: collection lab
	@$(call timed,demo) $(BIN)/python tests/lab/demo.py

# Figures, not tests (BENCHMARKS.md): ours against the real Kamal 2.11 side by side on 1, 3 and 10 servers, the
# floor, the overhead per host, zero downtime under load, 300 proxy switches under load, image delivery, live progress on/off. The lab grows to 10 servers for
# the table against Kamal (1, 3 and 10 servers in one run), then goes back to its default. bench-quick: 1 and 3 servers only, in a few minutes.
bench: collection lab
	@$(call timed,bench) \
	status=0; { \
	$(BIN)/python bench/floor.py --runs 5 && \
	$(BIN)/python bench/overhead.py && \
	$(BIN)/python bench/zero_downtime.py && \
	KAMAL_PROXY_TEST_SWITCHES=300 $(PYTEST) -q -s tests/integration/test_proxy.py -k switch_under_load && \
	$(BIN)/python bench/delivery.py && \
	$(BIN)/python bench/progress.py --mb 100 --runs 3 && \
	$(LAB) up --servers 10 --no-extras && \
	$(BIN)/python bench/vs_kamal.py --servers 1,3,10 --runs 5 --delays 0,7 --web; \
	} || status=$$?; \
	$(LAB) up; exit $$status

bench-quick: collection lab
	@$(call timed,bench-quick) \
	$(BIN)/python bench/vs_kamal.py --servers 1,3 --runs 3 --delays 0 --web && \
	$(BIN)/python bench/overhead.py

clean:
	rm -rf build
