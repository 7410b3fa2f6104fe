# Two commands on a fresh machine:  make demo   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    := out
# second TFLite oracle: tflite-runtime 2.14's reference kernels need numpy<2, so they live in
# their own venv and the tests call them in a subprocess (tinycnn/oracles/tflite_ref.py)
REF_VENV  := .venv-tflite-ref
REF_STAMP := $(REF_VENV)/.installed-stamp
# real MicroPython for the MicroPython runtime's tests (webassembly port, run under node >= 20)
MPY_NODE  := .mpy-node
MPY_STAMP := $(MPY_NODE)/.installed-stamp
MPY_NPM   := @micropython/micropython-webassembly-pyscript@1.27.0

.PHONY: demo test bench bench-firmware clean fuzz fuzz-blobs fuzz-importers
N ?= 200000

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(REF_STAMP):
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install --quiet "numpy<2" tflite-runtime==2.14.0
	touch $(REF_STAMP)

$(MPY_STAMP):
	mkdir -p $(MPY_NODE)
	npm install --prefix $(MPY_NODE) --no-audit --no-fund --silent $(MPY_NPM)
	touch $(MPY_STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== convert the bundled example (ONNX CNN trained on scikit-learn digits) to int8 =="
	$(BIN)/tinycnn convert examples/digits_cnn.onnx --calib examples/digits_calib.npz -o $(OUT)/digits_cnn.tcnn
	@echo; echo "== what is in the blob =="
	$(BIN)/tinycnn info $(OUT)/digits_cnn.tcnn
	@echo; echo "== int8 vs float (ONNX Runtime) on the held-out test split =="
	$(BIN)/tinycnn eval $(OUT)/digits_cnn.tcnn --reference examples/digits_cnn.onnx --data examples/digits_test.npz --per-layer
	@echo; echo "== will it fit, and how fast? (firmware simulation on a Cortex-M4, STM32L4-class) =="
	$(BIN)/tinycnn simulate $(OUT)/digits_cnn.tcnn --target cortex-m4 --plot $(OUT)/digits_cnn_cortex-m4.png

# C runtime and emulated boards: Cortex-M cross compiler + newlib, qemu-arm (user mode, DSP build
# tests) and qemu-system-arm (the MPS2/MPS3 machines of firmware_sim/c_runtime/boards)
FIRMWARE_PKGS := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-user qemu-system-arm
.PHONY: firmware-tools
firmware-tools:
	@command -v qemu-system-arm >/dev/null && command -v qemu-arm >/dev/null && \
	  command -v arm-none-eabi-gcc >/dev/null && \
	  [ -f "$$(arm-none-eabi-gcc -print-file-name=libc_nano.a)" ] || \
	  { apt-get update && apt-get install -y $(FIRMWARE_PKGS); }

test: $(STAMP) $(REF_STAMP) firmware-tools $(MPY_STAMP)
	$(BIN)/python -m pytest
	@echo "== kernels again as plain Python (NUMBA_DISABLE_JIT=1): the compiled and interpreted semantics agree =="
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest $(KERNEL_TESTS) -p no:cacheprovider
	@echo "== kernel tests with NUMBA_BOUNDSCHECK=1 (an out-of-bounds index raises IndexError instead of reading past an array; own JIT cache) =="
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(CURDIR)/$(VENV)/numba-boundscheck-cache $(BIN)/python -m pytest $(BOUNDSCHECK_TESTS) -p no:cacheprovider

# interpreted-kernel tests (the other kernel files' tests take > 8 min interpreted: not yet included)
KERNEL_TESTS := tests/test_kernels.py tests/test_validate_limits.py tests/test_kernel_lanes.py
BOUNDSCHECK_TESTS := tests/test_kernels.py tests/test_kernel_lanes.py tests/test_int16x8.py tests/test_binary_kernels.py tests/test_tflite_ops.py

# long fuzz campaign over crafted blobs (docs/fuzzing.md); N cases
fuzz: fuzz-blobs fuzz-importers

fuzz-blobs: $(STAMP)
	$(BIN)/python tests/fuzz/blob_fuzz.py -n $(N)

# long importer / data-file fuzz campaign (counts in docs/fuzzing.md); FUZZ_SECONDS to change
FUZZ_SECONDS ?= 900
fuzz-importers: $(STAMP)
	$(BIN)/python -m tests.fuzz_importers.runner --seconds $(FUZZ_SECONDS)

# peers benchmark: the 224x224 MobileNets (> 2 MB, not committed) are generated with TensorFlow
# in a side venv (TF_VENV=/path/to/an/existing/tf/venv to reuse one)
TF_VENV     ?= .venv-tf
BENCH_CACHE := .bench-cache
$(BENCH_CACHE)/mbv1_224.tflite: benchmarks/models/make_bench_models.py
	[ -x $(TF_VENV)/bin/python ] || { $(PYTHON) -m venv $(TF_VENV) && \
	  $(TF_VENV)/bin/pip install --quiet tensorflow-cpu==2.21.0 tf_keras==2.21.0; }
	$(TF_VENV)/bin/python benchmarks/models/make_bench_models.py --out $(BENCH_CACHE) --only mbv2_224 mbv1_224

bench: $(STAMP) $(BENCH_CACHE)/mbv1_224.tflite
	$(BIN)/python benchmarks/bench_peers.py
	$(BIN)/python benchmarks/bench_runtime.py
	$(BIN)/python benchmarks/bench_binary.py

# instructions per MAC on emulated Cortex-M4 (DSP), M3 (portable C) and M55 (QEMU, exact counts)
bench-firmware: $(STAMP) firmware-tools
	$(BIN)/python benchmarks/bench_instructions.py --markdown

clean:
	rm -rf $(OUT) .pytest_cache

# headless Chromium for the HTML report test (tests/test_tradeoff_report.py), only when missing
.PHONY: browser-tools
browser-tools:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
test: browser-tools
