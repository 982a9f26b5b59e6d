# micromentor: `make run` serves on http://127.0.0.1:8080, `make test` installs and runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Debian packages the tests drive for real: Chromium for the browser tests, PostgreSQL for
# the multi-node database, coturn for calls through TURN, prometheus for promtool, ffmpeg for
# ffprobe on recordings.
DEBIAN_PACKAGES := chromium fonts-dejavu-core postgresql coturn prometheus ffmpeg haproxy

.PHONY: run test lint install system-packages clean turn bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m server serve

# coturn beside the app, with the hardened config generated from config.toml.
turn: $(STAMP)
	@command -v turnserver >/dev/null || { echo "install Debian's coturn first: apt-get install coturn"; exit 1; }
	mkdir -p var
	$(PY) -m server turn-config > var/turnserver.conf
	turnserver -c var/turnserver.conf

# Installs what is missing, once; `apt-get update` only when something must be installed.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The SFU benchmarks beside Janus VideoRoom (bench/sfu.py), about 15 minutes; installs Debian's
# janus first when missing. As root the servers run in a network namespace the bench makes
# (Janus ignores loopback); without root, Janus is skipped. BENCH_ARGS=--quick: a smoke check.
bench: $(STAMP)
	@dpkg -s janus >/dev/null 2>&1 || { \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing Debian's janus for the bench"; \
	  $$sudo apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends janus; }
	$(PY) -m bench.sfu $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Two runs. First every test that holds no real call, in two workers (pytest-xdist; each file
# on one worker): those mostly wait on servers and browsers, so two workers nearly halve their
# time even on 2 cores. Then the tests marked `calls` (tests/conftest.py), alone in one process,
# so no other load competes with a call's timing. PYTEST_WORKERS=0 runs the first in one process
# too. Each run lists its slowest tests.
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -p no:cacheprovider --durations=10

# pytest exits 5 when it collected nothing; that is a failure here, not a pass (unless the
# other run found tests: PYTEST_ARGS="-k login" may select no call test).
test: $(STAMP) system-packages lint
	@others=0; calls=0; \
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadfile -m "not calls" $(PYTEST_ARGS) || others=$$?; \
	$(PYTEST) -m calls $(PYTEST_ARGS) || calls=$$?; \
	if [ $$others -eq 5 ] && [ $$calls -eq 5 ]; then echo "pytest ran no tests: failing"; exit 1; fi; \
	for rc in $$others $$calls; do [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc; done

clean:
	rm -rf $(VENV) build *.egg-info
