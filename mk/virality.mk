# Virality evidence and the creative optimizer (docs/virality.md, docs/optimizer.md)
.PHONY: bench-bandit bench-bandit-quick bench-bandit-alternatives bench-virality test-virality

bench-bandit: $(STAMP) ## bandit vs random / epsilon-greedy / best fixed arm, 500 rounds x 20 held-out seeds -> bench/results/bandit.md
	$(BIN)/python bench/bandit.py

bench-bandit-quick: $(STAMP) ## the same, 300 rounds x 4 seeds (does not overwrite the committed table)
	$(BIN)/python bench/bandit.py --quick --out /tmp/storyreel-bandit-quick.md

bench-bandit-alternatives: $(STAMP) ## learner alternatives tried (tuning seeds, ~3 min) -> bench/results/bandit_alternatives.md
	$(BIN)/python bench/bandit_alternatives.py

bench-virality: $(STAMP) ## forum evidence cold vs cached against a fake Firecrawl with latency -> bench/results/virality_cache.md
	$(BIN)/python bench/virality_cache.py

test-virality: $(STAMP) ## the virality and optimizer tests only
	$(BIN)/python -m pytest tests/virality tests/optimizer -q
