# planner area: local planner (context + scenes), sketch renderer, storyboard page
.PHONY: test-planner bench-planner

test-planner: $(STAMP) ## planner, sketch and storyboard-page tests (the page test needs Debian's chromium)
	$(BIN)/python -m pytest tests/scenes tests/images/test_sketch.py tests/finalize -q

bench-planner: $(STAMP) ## planner ms per brief and sketch ms per frame; table -> bench/results/planner.md
	$(BIN)/python bench/planner_sketch.py $(if $(QUICK),--quick,)
