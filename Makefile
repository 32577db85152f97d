# Set-up and the two entry points the README opens with. torch 2.13.0 is installed FIRST:
# any other torch (pulled unpinned by a later step) would be a multi-GB CUDA download here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.synthgen-installed

.PHONY: demo test test-all install browser clean

demo: $(STAMP)
	$(BIN)/synthgen example breast-cancer --out examples/breast_cancer.csv
	$(BIN)/synthgen run pipelines/breast_cancer.yaml

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -m "slow or not slow"

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else 'torch ' + v + ' replaced the pinned 2.13.0')"
	touch $(STAMP)

# The example-report test opens each report in headless Chromium (Debian's package). Install it
# where missing; where that is impossible (no root, no apt) the test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || \
	    echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "no chromium and no root apt-get: the browser test will be skipped"; fi; }

clean:
	rm -rf $(VENV) runs mlruns mlflow.db examples
