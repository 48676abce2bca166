# GPU keyframes: diffusers SDXL provider, the Batch worker image, the SDXL benchmark.
.PHONY: test-gpu lint-dockerfile bench-gpu bench-gpu-smoke

test-gpu: $(STAMP) ## CPU tests of the diffusers provider and GPU worker (tiny random SDXL)
	$(BIN)/python -m pytest tests/images/gpu -q $(PYTEST_ARGS)

lint-dockerfile: $(STAMP) ## hadolint the GPU worker's Dockerfile
	$(BIN)/hadolint services/images/gpu/Dockerfile

bench-gpu: $(STAMP) ## full-size SDXL (random weights) on the GPU: table -> bench/results/gpu_sdxl.md
	$(BIN)/python bench/gpu_sdxl.py $(BENCH_ARGS)

bench-gpu-smoke: $(STAMP) ## tiny SDXL-shaped smoke run of the GPU benchmark (CPU is fine; not a measurement)
	$(BIN)/python bench/gpu_sdxl.py --tiny --quick $(BENCH_ARGS)
