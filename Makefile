# Tunesmith set-up contract (see /README.md and soundfonts/README.md).
#   make setup   system packages (Debian/Ubuntu; needs root or passwordless sudo to install)
#                + .venv with the project + SoundFont check + reference melody index.
#                Idempotent; second runs skip.
#   make demo    set-up, then compose `lofi 30s` and print where the MP3 is
#   make test    set-up, then the whole test suite
#   make lint    set-up, then ruff (lint + format check) and mypy
#   make bench   set-up, then the benchmark suite
#   make clean   remove stamps and caches (keeps .venv, out/ and data/)
#   make distclean   clean, and remove .venv too
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export VENV

.PHONY: help setup setup-system setup-venv check-soundfont reference-melodies demo test lint bench clean distclean

help:
	@sed -n '2,10s/^# \{0,1\}//p' Makefile

setup: setup-system setup-venv check-soundfont reference-melodies

setup-system:
	@bash scripts/setup-system.sh

setup-venv: setup-system
	@bash scripts/setup-venv.sh

check-soundfont: setup-venv
	@bash scripts/check-soundfont.sh

# Known public-domain melodies for the originality check, from music21's corpus; rebuilt only
# when stale (a different corpus, fingerprint version or music21).
reference-melodies: setup-venv
	@$(BIN)/tunesmith ledger build-reference

demo: setup
	@result=$$($(BIN)/tunesmith compose lofi 30s --out out --json); \
	mp3=$$(printf '%s' "$$result" | $(BIN)/python -c \
		'import json, pathlib, sys; print(pathlib.Path(json.load(sys.stdin)["files"]["mp3"]).resolve())'); \
	echo "Composed lofi 30s. MP3: $$mp3"

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/tunesmith bench

clean:
	rm -rf .stamps .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
