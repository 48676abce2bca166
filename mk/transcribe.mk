# transcribe: the transcription stage (pocketsphinx, the local Whisper, typed briefs)
.PHONY: example-audio test-transcribe bench-transcribe bench-transcribe-quick

example-audio: sysdeps ## regenerate examples/brief.wav from examples/brief.txt (espeak-ng)
	scripts/make-example.sh

test-transcribe: sysdeps $(STAMP) ## transcription tests (espeak-ng speech, a tiny random Whisper, typed briefs)
	$(BIN)/python -m pytest tests/transcribe -q $(PYTEST_ARGS)

bench-transcribe: sysdeps $(STAMP) ## espeak brief + human speech: speed and WER, pocketsphinx and Whisper -> bench/results/transcribe.md
	$(BIN)/python bench/transcribe.py

bench-transcribe-quick: sysdeps $(STAMP) ## the same on the 25 s example brief, one run per row
	$(BIN)/python bench/transcribe.py --quick --out bench/results/transcribe-quick
