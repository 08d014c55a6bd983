# One entry point for testing the whole repository: `make test`.
#
# Works on a fresh machine that has a Rust toolchain, Python 3 (with venv and pip) and
# Node.js >= 20.17 with npm: the Python tools go into ./.venv and the Node tools into
# echo-node/node_modules, both created on first use. Everything is compiled into the one
# Cargo target directory (./target, or $CARGO_TARGET_DIR when it is set): maturin reuses
# the dependencies `cargo test` built; `napi build` always passes `--target <host>`, so its
# artefacts live apart in <target>/<host-triple>/debug (a one-time second dependency build).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
CARGO ?= cargo
NPM ?= npm
VENV ?= .venv

VENV_BIN := $(VENV)/bin
# Marks that .venv holds the pinned dev tools; re-installed when the pins change.
VENV_TOOLS := $(VENV)/.echo-dev-tools
NODE_DIR := echo-node
# npm writes this file on every install, so it marks an up-to-date node_modules.
NODE_MODULES := $(NODE_DIR)/node_modules/.package-lock.json

# PostgreSQL server for the tests that exercise the PostgreSQL store.
export ECHO_TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

# A CI run builds once from a fresh clone: incremental caches would only take disk space.
ifeq ($(CI),true)
export CARGO_INCREMENTAL := 0
endif

# Build PyO3 the way maturin does (no link against libpython) in every cargo command, so
# `cargo test` works on machines without a shared libpython.
export PYO3_BUILD_EXTENSION_MODULE := 1
# maturin records the interpreter configuration it builds pyo3 with in the target dir.
# Pointing plain cargo at the same file lets `cargo test` and `maturin develop` share one
# compiled pyo3 instead of rebuilding it in turn (~20 s each). Before the first
# `maturin develop` the file does not exist yet and pyo3 configures itself as usual.
CARGO_TARGET := $(or $(CARGO_TARGET_DIR),target)
PYO3_MATURIN_CONFIG := $(firstword $(wildcard $(CARGO_TARGET)/maturin/pyo3-config-*-abi3.txt))
ifneq ($(PYO3_MATURIN_CONFIG),)
export PYO3_CONFIG_FILE := $(abspath $(PYO3_MATURIN_CONFIG))
endif

section = @printf '\n==== %s ====\n' '$(1)'

.PHONY: test test-rust test-examples test-python test-node python-develop node-build

test: test-rust test-examples test-python test-node
	$(call section,all tests passed)

test-rust:
	$(call section,Rust: cargo test --workspace)
	$(CARGO) test --workspace

# Examples are part of the documentation: each must run to completion. They run in a
# scratch directory so the database files they create do not land in the checkout. They are
# built for the whole workspace, like `cargo test --workspace` builds them, so the compiled
# crates are shared with the test build instead of being rebuilt with one package's features.
EXAMPLES_DIR := $(abspath $(CARGO_TARGET))/debug/examples

test-examples:
	$(call section,Examples: build)
	$(CARGO) build --quiet --workspace --examples
	$(call section,Examples: quickstart)
	scratch=$$(mktemp -d) && (cd "$$scratch" && $(EXAMPLES_DIR)/quickstart) && \
		test -s "$$scratch/echo-quickstart.db" && rm -rf "$$scratch"
	$(call section,Examples: worker)
	scratch=$$(mktemp -d) && (cd "$$scratch" && $(EXAMPLES_DIR)/worker) && \
		test -s "$$scratch/echo-worker-example.db" && rm -rf "$$scratch"
	$(call section,Examples: live_providers (calls only providers whose keys are set))
	$(EXAMPLES_DIR)/live_providers

# --- Python (echo-py) ------------------------------------------------------------------

$(VENV_TOOLS): echo-py/requirements-dev.txt
	$(call section,Python: dev tools into $(VENV))
	test -x $(VENV_BIN)/python || $(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check -r echo-py/requirements-dev.txt
	touch $@

python-develop: $(VENV_TOOLS)
	$(call section,Python: maturin develop (debug build of echo_ai into $(VENV)))
	VIRTUAL_ENV="$(abspath $(VENV))" $(VENV_BIN)/maturin develop --manifest-path echo-py/Cargo.toml

test-python: python-develop
	$(call section,Python: pytest echo-py/tests)
	$(VENV_BIN)/python -m pytest echo-py/tests -q -ra
	$(call section,Python: stubtest (echo_ai/_native.pyi against the compiled module) and mypy)
	$(VENV_BIN)/python -m mypy.stubtest echo_ai --mypy-config-file echo-py/pyproject.toml --allowlist echo-py/stubtest-allowlist.txt
	$(VENV_BIN)/python -m mypy --config-file echo-py/pyproject.toml --strict -p echo_ai
	$(call section,Python: examples/notebook.ipynb (headless))
	$(VENV_BIN)/python echo-py/tools/run_notebook.py examples/notebook.ipynb

# --- Node (echo-node) ------------------------------------------------------------------

# `npm install --no-save` rather than `npm ci`: it installs the versions pinned by the
# committed package-lock.json without rewriting it, but unlike `npm ci` it does not fail
# when the lock file lacks entries for other platforms' optional packages (npm omits
# those when the registry it ran against did not serve them).
$(NODE_MODULES): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	$(call section,Node: npm install in $(NODE_DIR))
	cd $(NODE_DIR) && ECHO_NODE_SKIP_BUILD=1 $(NPM) install --no-save --no-audit --no-fund
	touch $@

node-build: $(NODE_MODULES)
	$(call section,Node: napi build (debug))
	cd $(NODE_DIR) && $(NPM) run --silent build:debug
	@# In CI, the loader and type definitions napi just generated must be the committed ones.
	@if [ "$${CI:-}" = true ] && git rev-parse --git-dir >/dev/null 2>&1; then \
		git diff --exit-code -- $(NODE_DIR)/index.js $(NODE_DIR)/index.d.ts \
		|| { echo "echo-node/index.js or index.d.ts is out of date: run 'make node-build' and commit them" >&2; exit 1; }; \
	fi

# npm test runs every file in echo-node/__test__: the API tests, the typed-error tests, the
# declaration check (exports vs index.d.ts + lib/index.d.ts, and `tsc --noEmit` on a usage
# file) and the HTTP test of examples/server.mjs on loopback. ECHO_NODE_SKIP_BUILD keeps the
# package's install script (the build for `npm install ./echo-node`) out of the dev flow.
test-node: node-build
	$(call section,Node: npm test (bindings, types, examples/server.mjs over HTTP))
	cd $(NODE_DIR) && $(NPM) test

# Binding overhead against the same work in Rust (numbers, not a pass/fail test).
.PHONY: bench-node
bench-node: $(NODE_MODULES)
	$(call section,Node: release build and bench/overhead.mjs vs examples/node_overhead.rs)
	cd $(NODE_DIR) && $(NPM) run --silent build
	cd $(NODE_DIR) && node bench/overhead.mjs
	$(CARGO) run --quiet --release -p echo-node --example node_overhead
