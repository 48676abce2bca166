# planner area: local planner (context + scenes), sketch renderer, storyboard page
.PHONY: test-planner bench-planner bench-planner-speed bench-planner-golden bench-planner-ab

test-planner: $(STAMP) ## planner, sketch and storyboard-page tests (the page test needs Debian's chromium)
	$(BIN)/python -m pytest tests/scenes tests/images/test_sketch.py tests/finalize -q

bench-planner: bench-planner-golden bench-planner-speed ## the golden set's reading score and the planner/sketch speed

bench-planner-golden: $(STAMP) ## field accuracy and prompt checks on bench/briefs/golden -> bench/results/planner_golden.md
	$(BIN)/python bench/planner_golden.py

bench-planner-speed: $(STAMP) ## planner ms per brief and sketch ms per frame; table -> bench/results/planner.md
	$(BIN)/python bench/planner_sketch.py $(if $(QUICK),--quick,)

bench-planner-ab: $(STAMP) ## planner ms per brief, this tree against BEFORE (a commit; default f9af31c) -> bench/results/planner_ab.md
	$(BIN)/python bench/planner_ab.py $(if $(BEFORE),--before $(BEFORE),)
