"""bench/bandit_peers.py --quick on one regime with one peer per library (skipped where the library is absent)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def peers_bench():
    sys.path.insert(0, str(BENCH))
    try:
        import bandit_peers

        yield bandit_peers
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.slow  # seconds: a few hundred simulated rounds per learner
@pytest.mark.parametrize(
    ("library", "peer"), [("mabwiser", "MABWiser UCB1"), ("vowpalwabbit", "VW squarecb")]
)
def test_quick_table_has_the_rows_and_finite_numbers(peers_bench, tmp_path: Path, library: str, peer: str):
    pytest.importorskip(library)
    out = tmp_path / "peers.md"
    result = peers_bench.main(
        ["--quick", "--regimes", "stationary", "--peers", peer, "--procs", "1", "--out", str(out)]
    )
    row = result["regimes"]["stationary"]
    assert set(row["results"]) == {peers_bench.OURS, peers_bench.EPS_BASE, peer}
    for r in row["results"].values():
        assert math.isfinite(r["regret_mean"]) and math.isfinite(r["ratio_to_eps"])
    assert row["best_peer"] == peer and 1 <= row["rank_of_ours"] <= 2
    text = out.read_text()
    assert "| stationary |" in text and peer in text and "## Goals" in text
    assert json.loads(out.with_suffix(".json").read_text())["result"]["peers"] == [peer]
