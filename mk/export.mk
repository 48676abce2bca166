# Exports: animatic MP4, storyboard PDF, editor timelines (docs/export.md)
.PHONY: bench-export test-export

bench-export: $(STAMP) sysdeps ## a 10-scene 30 s board -> animatic.mp4 at 1080p; wall vs 1/3 of its length -> bench/results/export.md
	$(BIN)/python bench/export.py

test-export: $(STAMP) sysdeps ## the export tests only (ffprobe, pdfinfo/pdftotext, OTIO's adapters)
	$(BIN)/python -m pytest tests/export -q $(PYTEST_ARGS)
