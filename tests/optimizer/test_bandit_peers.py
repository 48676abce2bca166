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


@pytest.mark.slow  # seconds: two short simulated runs per learner
def test_new_regimes_run_for_storyreel_and_the_baseline(peers_bench) -> None:
    bench = peers_bench.bench
    for kind in ("brief-dependent", "delayed"):
        ours, _ = bench.simulate(kind, peers_bench.make_factory(peers_bench.OURS, None), 120, 0)
        eps, _ = bench.simulate(kind, peers_bench.make_factory(peers_bench.EPS_BASE, None), 120, 0)
        assert math.isfinite(ours) and math.isfinite(eps) and ours > 0 and eps > 0
    assert len(bench.Audience("brief-dependent", 1).contexts) == 2


def test_delayed_regime_replaces_pieces_for_a_learner_with_feedback(peers_bench) -> None:
    bench = peers_bench.bench

    class Recorder:
        def __init__(self) -> None:
            self.pieces: dict[str, list[float]] = {}
            self.learned = 0

        def choose(self, ctx):
            return {lever: arms[0] for lever, arms in bench.LEVERS.items()}

        def feedback(self, key, ctx, variant, reward) -> None:
            self.pieces.setdefault(key, []).append(reward)

        def learn(self, ctx, variant, reward) -> None:
            self.learned += 1

    rec = Recorder()
    bench.simulate("delayed", lambda rng, aud: rec, 100, 0)
    assert rec.learned == 0  # everything came as replacing pieces
    full = [p for p in rec.pieces.values() if len(p) == 3]
    assert full and len(full) == 100 - bench.DELAY  # runs decided in the last DELAY rounds are still open


def test_tuning_and_held_out_seeds_must_not_overlap(peers_bench) -> None:
    with pytest.raises(ValueError, match="overlap"):
        peers_bench.run(rounds=10, tune_seeds=[0, 1], test_seeds=[1, 2], regime_names=["stationary"])


def test_peers_from_reuses_the_saved_peers_and_reruns_storyreel(peers_bench, tmp_path: Path) -> None:
    """The peers' numbers come from the saved result unchanged; storyreel and the baseline are run again."""
    saved = {
        "rounds": 40,
        "held_out_seeds": [100],
        "peers": ["VW squarecb"],
        "grid": {"VW squarecb": [10.0, 30.0]},
        "regimes": {
            "stationary": {
                "results": {
                    "VW squarecb": {
                        "regret_mean": 1e-3,
                        "regret_sd": 0.0,
                        "best_share_after_200": 0.5,
                        "param": 30.0,
                    }
                },
                "tuning": {"VW squarecb": {"10.0": 2.0, "30.0": 1.0}},
            }
        },
    }
    with pytest.raises(peers_bench.PeersFileError):
        peers_bench.run(rounds=50, tune_seeds=[0], test_seeds=[100], regime_names=["stationary"], saved=saved)
    out = peers_bench.run(
        rounds=40, tune_seeds=[0], test_seeds=[100], regime_names=["stationary"], saved=saved, latency_n=3
    )
    row = out["regimes"]["stationary"]
    assert row["results"]["VW squarecb"]["regret_mean"] == 1e-3 and row["best_peer"] == "VW squarecb"
    assert row["results"][peers_bench.OURS]["regret_mean"] > 1e-3  # really simulated, not copied
    assert "peers do not depend" in peers_bench.render(out, "cmd")
