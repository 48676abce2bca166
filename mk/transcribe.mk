# transcribe: the local (pocketsphinx) transcription stage
.PHONY: example-audio test-transcribe bench-transcribe bench-transcribe-quick

example-audio: sysdeps ## regenerate examples/brief.wav from examples/brief.txt (espeak-ng)
	scripts/make-example.sh

test-transcribe: sysdeps $(STAMP) ## transcription tests (speech made at test time with espeak-ng)
	$(BIN)/python -m pytest tests/transcribe -q $(PYTEST_ARGS)

bench-transcribe: sysdeps $(STAMP) ## 60 s spoken brief: speed (workers 1 and 2) and WER -> bench/results/transcribe.md
	$(BIN)/python bench/transcribe.py

bench-transcribe-quick: sysdeps $(STAMP) ## the same on the 25 s example brief, one run per row
	$(BIN)/python bench/transcribe.py --quick --out bench/results/transcribe-quick
