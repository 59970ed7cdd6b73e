# postoffice — the two commands a new machine needs: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian programs the tests run as real clients (chromium: the webmail's browser tests, driven
# by Playwright; dovecot-imapd: the reference server of tests/differential, which starts a
# private instance of it; fuse3: fusermount3 and libfuse3 for the power-cut file system
# of tests/durability; fail2ban: fail2ban-regex checks the documented filter;
# ffmpeg and espeak-ng make the test media at test time: video, and speech for voice messages).
TEST_DEBS := swaks curl fetchmail isync offlineimap sqlite3 time opendkim libmail-dkim-perl libnet-dns-perl postfix chromium dovecot-imapd fuse3 fail2ban ffmpeg espeak-ng
BENCH_DEBS := dovecot-imapd dovecot-pop3d postfix roundcube roundcube-sqlite3 php-cli

.PHONY: serve test check lint bench install test-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/postoffice serve

# Debian packages: installed only when a program is missing (root on Debian).
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# vulture reads tests/ and bench/ too, so that code they use is not called dead, and
# reports what nothing uses. --min-confidence 60 is vulture's lowest step: it includes
# unused attributes, methods and dataclass fields (only unused imports and unreachable
# code score higher), which are exactly where dead code hides here. Names used where
# vulture cannot see (pytest hooks, getattr dispatch) are listed, with the reason, in
# tests/vulture_whitelist.py.
lint: install
	$(BIN)/ruff check postoffice tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture postoffice tests bench tests/vulture_whitelist.py --min-confidence 60

test: install test-deps lint
	$(BIN)/pytest -q tests

bench: install test-deps
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
