# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := shared services/erp-api services/erp-worker services/report-api services/amazon-sync services/manager simulators
TEST_PACKAGES := tests/echo-kind  # a kind that exists only in the tests, installed like any plugin
BENCHES := $(filter-out loadgen baseline_%,$(patsubst bench/%.py,%,$(wildcard bench/[a-z]*.py)))

.PHONY: install run test lint bench lock clean

$(STAMP): requirements.lock requirements-dev.lock $(addsuffix /pyproject.toml,$(PACKAGES) $(TEST_PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps $(addprefix -e ,$(PACKAGES) $(TEST_PACKAGES))
	touch $@

install: $(STAMP)

run: install  ## the demo: demo ERP :8200, erp-api "Bennys Auto" :8101 and its worker
	$(BIN)/python scripts/run_demo.py

test: install  ## every test; set REQUIRE_RABBITMQ=1 REQUIRE_POSTGRES=1 to fail instead of skip
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

bench: install  ## every benchmark, or one: make bench B=erp_intake
	@for b in $(if $(B),$(B),$(BENCHES)); do echo "== $$b"; $(BIN)/python bench/$$b.py || exit 1; done

lock:  ## re-pin requirements.lock (run time, what images install) and requirements-dev.lock (+ test tools)
	$(PYTHON) scripts/lock.py $(if $(UPGRADE),--upgrade)

clean:
	rm -rf $(VENV) var .pytest_cache
