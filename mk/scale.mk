# scale: the capacity and cost model, and the load test (issue #15)
.PHONY: capacity bench-load bench-load-quick

capacity: sysdeps $(STAMP) ## cost of a run per preset + which quota binds at 1..10,000 runs/h -> bench/results/capacity.md
	$(BIN)/python bench/capacity.py

bench-load: sysdeps $(STAMP) ## 50 concurrent runs through the state machine in moto with faults + serve under 20 uploads -> bench/results/load.md
	$(BIN)/python bench/load.py

bench-load-quick: sysdeps $(STAMP) ## the same, 10 runs and 5 uploads
	$(BIN)/python bench/load.py --quick --out bench/results/load-quick
