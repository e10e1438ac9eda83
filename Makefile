# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/thuocdo.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 8050
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test test-long install install-dev chromium pdf-libs poppler java demo bench clean

## make run: install, build the demo database if missing, start the dashboard
run: install
	@test -f $(DB) || $(BIN)/python -m etl demo --scale demo --db $(DB)
	$(BIN)/python -m dashboard serve --db $(DB) --host $(HOST) --port $(PORT) --demo

## make test: install what the tests need (Debian chromium included) and run them all
## (except the `long` reliability rounds: `make test-long`)
test: install-dev chromium poppler java
	$(BIN)/python -m pytest

## make test-long: only the long reliability rounds (e.g. 50 kill -9 rounds, ~10 minutes)
test-long: install-dev chromium
	$(BIN)/python -m pytest -m long

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed pdf-libs
install-dev: $(VENV)/.installed-dev pdf-libs

# The monthly report's PDF (WeasyPrint) needs pango and a font with every Vietnamese glyph.
pdf-libs:
	@if ! ldconfig -p | grep -q libpangoft2-1.0.so.0 || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
	fi

# The report tests read the PDF back with pdftotext and draw its pages with pdftoppm.
poppler:
	@if [ ! -x /usr/bin/pdftotext ] || [ ! -x /usr/bin/pdftoppm ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq poppler-utils; \
	fi

# The Spark tests (tests/test_spark.py) and `python -m etl spark rollups` need Java 17: Debian's, headless.
java:
	@if ! command -v java >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; \
	fi

# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

demo: install
	$(BIN)/python -m etl demo --scale demo --db $(DB)

## make bench: the ingest and query benchmarks at city scale (slow: builds data/city.duckdb)
bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/queries.py
	$(BIN)/python bench/day_floor.py

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/demo data/city test-artifacts
