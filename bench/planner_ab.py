"""bench-planner-ab: the local planner's time per brief, this tree against an earlier commit, on one machine.

The commit's shared/ and services/ are unpacked (git archive) into a temporary folder laid out as installed
(storyreel/shared, storyreel/services); each side runs in its own interpreter, the two alternating ROUNDS times
so both see the same load. Per brief and scene count: the median over every round of extract_context +
write_scenes with a fresh planner. Prints a table and writes bench/results/planner_ab.{md,json}.

    python bench/planner_ab.py [--before COMMIT] [--repeats N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Run in each side's interpreter: argv = [the folder the planner must come from, repeats].
CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {bench!r})
import storyreel.services.scenes.providers.local as local
from planner_sketch import briefs
assert local.__file__.startswith(sys.argv[1]), local.__file__
out = {{}}
for name, t in briefs().items():
    local.LocalPlanner().write_scenes(t, local.LocalPlanner().extract_context(t), {{}}, 5)  # warm caches
    for n in (5, 10):
        samples = []
        for _ in range(int(sys.argv[2])):
            planner = local.LocalPlanner()
            t0 = time.perf_counter()
            planner.write_scenes(t, planner.extract_context(t), {{}}, n)
            samples.append(time.perf_counter() - t0)
        out[f"{{name}}, {{n}} scenes"] = samples
print(json.dumps(out))
"""


def unpack(commit: str, dest: Path) -> Path:
    """The commit's shared/ and services/ as the installed package `storyreel` under dest."""
    pkg = dest / "storyreel"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "shared", "services"],
        check=True,
        capture_output=True,
    ).stdout
    tar = dest / "tree.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as tf:
        tf.extractall(pkg, filter="data")
    return dest


def run_side(where: Path | None, repeats: int) -> dict[str, list[float]]:
    env = dict(os.environ)
    if where is not None:
        env["PYTHONPATH"] = str(where)
    code = CHILD.format(bench=str(ROOT / "bench"))
    origin = str(where) if where is not None else str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code, origin, str(repeats)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # not the repo root, so `storyreel` resolves from PYTHONPATH or the install
    ).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--before", default="f9af31c", help="the commit to compare against (default: the rewrite)"
    )
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    before: dict[str, list[float]] = {}
    after: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = unpack(args.before, Path(tmp))
        for _ in range(args.rounds):
            for side, where in ((before, tree), (after, None)):
                for key, samples in run_side(where, args.repeats).items():
                    side.setdefault(key, []).extend(samples)
    rows = []
    for key in before:
        b, a = statistics.median(before[key]) * 1000, statistics.median(after[key]) * 1000
        rows.append({"what": f"planner: {key}", "before_ms": round(b, 2), "after_ms": round(a, 2)})
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (
        f"host: {platform.node()} · {os.cpu_count()} cores · python {platform.python_version()} · "
        f"load {load:.1f} · {args.rounds} rounds x {args.repeats} repeats per side, alternating"
    )
    lines = [
        "# planner speed: before and after",
        "",
        f"before: commit {args.before}; after: this tree (HEAD {head} + its working changes)",
        "",
        header,
        "",
        "| what | before median ms | after median ms | after / before |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['what']} | {r['before_ms']:.2f} | {r['after_ms']:.2f} | {r['after_ms'] / r['before_ms']:.2f} |"
        for r in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "planner_ab.md").write_text(text)
    (RESULTS / "planner_ab.json").write_text(
        json.dumps({"host": header, "before": args.before, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
