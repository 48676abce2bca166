# Virality evidence and the creative optimizer (docs/virality.md, docs/optimizer.md)
.PHONY: bench-bandit bench-bandit-peers bench-bandit-ours bench-bandit-peers-quick bench-bandit-quick bench-bandit-alternatives bench-virality test-virality

bench-bandit: $(STAMP) bench-bandit-peers ## bandit vs random / epsilon-greedy / best fixed arm, 500 rounds x 20 held-out seeds -> bench/results/bandit.md (+ the peers)
	$(BIN)/python bench/bandit.py

bench-bandit-quick: $(STAMP) ## the same, 300 rounds x 4 seeds (does not overwrite the committed table)
	$(BIN)/python bench/bandit.py --quick --out /tmp/storyreel-bandit-quick.md

# the peer libraries are bench-only dependencies (bench/requirements-peers.txt), not extras of the package
bench-bandit-peers: $(STAMP) ## storyreel vs MABWiser / Vowpal Wabbit, grids tuned on seeds 0-19, held-out 100-119 (~15 min, 2 procs) -> bench/results/bandit_peers.md
	$(BIN)/pip install -q -r bench/requirements-peers.txt
	$(BIN)/python bench/bandit_peers.py

bench-bandit-ours: $(STAMP) ## storyreel + baseline again on the held-out seeds, the peers' numbers from the committed bench/results/bandit_peers.json (minutes)
	$(BIN)/python bench/bandit_peers.py --peers-from bench/results/bandit_peers.json

bench-bandit-peers-quick: $(STAMP) ## the peers, 240 rounds x 2 + 2 seeds (does not overwrite the committed table)
	$(BIN)/pip install -q -r bench/requirements-peers.txt
	$(BIN)/python bench/bandit_peers.py --quick

bench-bandit-alternatives: $(STAMP) ## learner alternatives tried (tuning seeds, ~3 min) -> bench/results/bandit_alternatives.md
	$(BIN)/python bench/bandit_alternatives.py

bench-virality: $(STAMP) ## forum evidence cold vs cached against a fake Firecrawl with latency -> bench/results/virality_cache.md
	$(BIN)/python bench/virality_cache.py

test-virality: $(STAMP) ## the virality and optimizer tests only
	$(BIN)/python -m pytest tests/virality tests/optimizer -q
