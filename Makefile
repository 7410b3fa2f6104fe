# Two commands on a fresh machine:  make demo   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    := out

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== convert the bundled example (ONNX CNN trained on scikit-learn digits) to int8 =="
	$(BIN)/tinycnn convert examples/digits_cnn.onnx --calib examples/digits_calib.npz -o $(OUT)/digits_cnn.tcnn
	@echo; echo "== what is in the blob =="
	$(BIN)/tinycnn info $(OUT)/digits_cnn.tcnn
	@echo; echo "== int8 vs float (ONNX Runtime) on the held-out test split =="
	$(BIN)/tinycnn eval $(OUT)/digits_cnn.tcnn --reference examples/digits_cnn.onnx --data examples/digits_test.npz --per-layer

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_runtime.py

clean:
	rm -rf $(OUT) .pytest_cache
