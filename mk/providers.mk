# Production providers (OpenAI, Replicate, Stability): wire tests and benchmarks. See docs/providers.md.
.PHONY: test-providers bench-providers bench-providers-quick bench-pipeline bench-pipeline-quick

test-providers: $(STAMP) ## provider wire tests (local fake vendor servers, the real SDKs)
	$(BIN)/python -m pytest tests/providers -q

bench-providers: $(STAMP) ## 10 keyframes, fake server at L=1 s per image: concurrent vs sequential -> bench/results/providers.md
	$(BIN)/python bench/providers.py

bench-providers-quick: $(STAMP)
	$(BIN)/python bench/providers.py --quick

bench-pipeline: $(STAMP) sysdeps ## every preset end to end with fake providers at the seed's latencies / 10 -> bench/results/pipeline.md
	$(BIN)/python bench/pipeline.py

bench-pipeline-quick: $(STAMP)
	$(BIN)/python bench/pipeline.py --quick
