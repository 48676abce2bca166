# Clips (services/clips): the motion between each scene's keyframes. See docs/clips.md.
.PHONY: test-clips bench-clips bench-clips-quick

test-clips: $(STAMP) ## clips tests: Replicate at the wire, the state machine's clips branch in moto, tiny Wan on CPU
	$(BIN)/python -m pytest tests/clips -q $(PYTEST_ARGS)

bench-clips: $(STAMP) ## 10 clips, fake Replicate at L=1 s per clip: wall <= 1.3 L -> bench/results/clips.md
	$(BIN)/python bench/clips.py $(BENCH_ARGS)

bench-clips-quick: $(STAMP)
	$(BIN)/python bench/clips.py --quick
