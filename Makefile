# Plinth: build, run and test. `make test` runs everything and starts the services it needs
# (a private PostgreSQL via scripts/postgres.sh, versitygw for S3); see docs/development.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/plinth-ml/plinth/internal/app.Version=$(VERSION)
VENV    ?= .venv
GO_PKGS ?= ./...
PY      := $(VENV)/bin/python
PYTEST  := $(PY) -m pytest python/tests -p no:cacheprovider
# Where scripts/install-versitygw.sh puts versitygw for us, plus Go's default bin dir.
TOOLS_BIN := $(CURDIR)/.tools/bin
export PATH := $(TOOLS_BIN):$(shell $(GO) env GOPATH 2>/dev/null)/bin:$(PATH)

# The env the Go and Python test harnesses read; PLINTH_REQUIRE_* turn a missing service
# into a failure, so `make test` never passes by skipping.
# (The DSN is taken in its own statement so a failed start stops the recipe.)
TEST_ENV = dsn=$$(scripts/postgres.sh start); PLINTH_TEST_POSTGRES_DSN="$$dsn" PLINTH_REQUIRE_POSTGRES=1 PLINTH_REQUIRE_S3=1

.PHONY: build run test test-go test-python test-python-sqlite test-python-postgres \
	test-web test-e2e web fmt-check vet venv fixtures versitygw services services-stop bench clean

# The web UI (web/, TypeScript + Vite) is built into web/dist, which the binary embeds. It is
# rebuilt only when its sources change; npm ci runs when the lock file changes.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build
web: web/dist/index.html

build: web
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/plinth ./cmd/plinth

run: build
	bin/plinth server

test: fmt-check vet test-web test-go test-python test-e2e

# The UI end to end: Playwright drives Debian's Chromium (/usr/bin/chromium) against a real
# plinth server seeded through the mlflow client; screenshots land in web/test-results/.
test-e2e: build venv
	@echo "== web: end-to-end tests (Playwright + Chromium)"
	PLINTH_BIN=$(CURDIR)/bin/plinth PLINTH_PYTHON=$(CURDIR)/$(PY) scripts/ui-e2e.sh

test-web: web/node_modules/.package-lock.json
	@echo "== web: typecheck and unit tests (Vitest)"
	cd web && npm run --silent typecheck && npx vitest run

fmt-check:
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path './.venv/*' -not -path './.tools/*' -print0 | xargs -0 gofmt -l); \
	if [[ -n "$$files" ]]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	@echo "gofmt: ok"

vet:
	$(GO) vet ./...

# The golden models: trained by the real xgboost and lightgbm (and saved by mlflow) with their
# own predictions, so the native runtimes are checked against today's libraries. They are
# written to .fixtures (laid out like internal/runtime/testdata, which keeps a committed copy
# plus older library versions from scripts/*-legacy-fixtures.sh); the Go tests check both.
FIXTURES := .fixtures
export PLINTH_RUNTIME_FIXTURES := $(CURDIR)/$(FIXTURES)
fixtures: venv
	@echo "== fixtures: models trained by $$($(PY) -c 'import xgboost, lightgbm, mlflow; print("xgboost", xgboost.__version__, "lightgbm", lightgbm.__version__, "mlflow", mlflow.__version__)')"
	$(PY) python/fixtures/xgboost_fixtures.py --out $(FIXTURES)/fixtures/xgboost/current
	$(PY) python/fixtures/lightgbm_fixtures.py --out $(FIXTURES)/fixtures/lightgbm/current
	$(PY) python/fixtures/mlflow_models.py --out $(FIXTURES)/mlflow

test-go: versitygw venv fixtures
	@echo "== go test -race $(GO_PKGS) (PostgreSQL + S3 required)"
	$(TEST_ENV) PLINTH_MLFLOW_PYTHON=$(CURDIR)/$(PY) $(GO) test -race -count=1 $(GO_PKGS)

test-python: test-python-sqlite test-python-postgres

test-python-sqlite: build venv
	@echo "== python tests: plinth on SQLite + local folder"
	PLINTH_TEST_BACKEND=sqlite PLINTH_BIN=$(CURDIR)/bin/plinth $(PYTEST)

test-python-postgres: build venv versitygw
	@echo "== python tests: plinth on PostgreSQL + S3 (versitygw)"
	$(TEST_ENV) PLINTH_TEST_BACKEND=postgres PLINTH_BIN=$(CURDIR)/bin/plinth $(PYTEST)

venv:
	@PLINTH_VENV=$(VENV) scripts/venv.sh

versitygw:
	@command -v versitygw >/dev/null || scripts/install-versitygw.sh "$(TOOLS_BIN)" >/dev/null
	@command -v versitygw >/dev/null || { echo "versitygw is not on PATH after scripts/install-versitygw.sh"; exit 1; }

# Start the test services by hand (e.g. to run one package's tests); prints the env to export.
services: versitygw
	@scripts/postgres.sh env

services-stop:
	@scripts/postgres.sh stop

bench: build
	@if [[ -f bench/run.sh ]]; then bash bench/run.sh; else echo "bench/run.sh not found"; exit 1; fi

clean:
	rm -rf bin web/node_modules
	cd web && node scripts/clean-dist.mjs
