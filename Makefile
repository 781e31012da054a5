# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= torch,tensorflow,jax,onnx,openvino,triton,report,ray,dev
STAMP := $(VENV)/.navctl-installed
PYTEST_ARGS ?=
# Two pytest workers: most tests wait on navctl subprocesses, so two keep both cores of a CI runner busy.
TEST_WORKERS ?= 2

.PHONY: demo test test-fast bytecode lint schemas bench clean

$(STAMP): pyproject.toml constraints/cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/cpu.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python recipes/models/make_onnx_model.py
	$(BIN)/navctl validate recipes/*.yaml
	$(BIN)/navctl plan recipes/quickstart.yaml
	$(BIN)/navctl optimize recipes/quickstart.yaml
	$(BIN)/navctl status recipes/navigator_workspace

# navctl's bytecode, compiled once: where PYTHONDONTWRITEBYTECODE is set (CI images) every navctl
# process and step would compile its modules again (~50 ms each).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q navctl

test: $(STAMP) bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test-fast: $(STAMP) bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check navctl tests benchmarks scripts

schemas: $(STAMP)
	$(BIN)/navctl schema --out schemas

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) recipes/navigator_workspace recipes/*.nav
