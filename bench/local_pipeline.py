"""bench-local: a 60-second spoken brief through the full local pipeline, on the embedded defaults.

Speech is made with scripts/speak.sh (espeak-ng) from bench/briefs/brief-60s.txt, then each preset runs end to
end as `storyreel run --json`, a fresh process per run. Prints the stage table and writes bench/results/local_pipeline.{md,json}.
Goal (issue 2): the whole full-preset run in <= 10 s wall on a 2-core machine.

    python bench/local_pipeline.py [--repeats 3] [--presets full,quick,preview]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.shared.pipeline import STAGES  # noqa: E402

BRIEF = ROOT / "bench" / "briefs" / "brief-60s.txt"
RESULTS = ROOT / "bench" / "results"
GOAL_S = 10.0


def make_speech(text_file: Path, dest: Path) -> tuple[float, Path]:
    """The voice every test and example uses (scripts/speak.sh: espeak-ng's Klatt US voice, 16 kHz mono)."""
    wav = dest / "brief-60s.wav"
    subprocess.run([str(ROOT / "scripts" / "speak.sh"), str(text_file), str(wav)], check=True)
    out = subprocess.run(["sox", "--i", "-D", str(wav)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip()), wav


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--presets", default="full,quick,preview")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        os.environ["STORYREEL_HOME"] = str(tmpdir / "home")
        duration, wav = make_speech(BRIEF, tmpdir)
        rows: dict[str, dict] = {}
        env = {**os.environ, "STORYREEL_HOME": str(tmpdir / "home")}
        for preset in args.presets.split(","):
            walls: list[float] = []
            stages: dict[str, list[float]] = {s: [] for s in STAGES}
            summary: dict = {}
            for _ in range(args.repeats):
                # A fresh process per run, as a user runs it: interpreter start, imports, decoder pool included.
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "storyreel.cli",
                        "run",
                        str(wav),
                        "--preset",
                        preset,
                        "--out",
                        str(tmpdir / "out"),
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=ROOT,
                    check=True,
                )
                walls.append(time.perf_counter() - t0)
                summary = json.loads(proc.stdout)
                for name, seconds in summary["timings"].items():
                    stages.setdefault(name, []).append(seconds or 0.0)
            rows[preset] = {
                "wall_s_median": round(statistics.median(walls), 3),
                "wall_s_all": [round(w, 3) for w in walls],
                "stages_s_median": {k: round(statistics.median(v), 3) for k, v in stages.items() if v},
                "frames_rendered": summary["frames"]["rendered"],
                "frames_total": summary["frames"]["total"],
                "virality_score": summary["virality_score"],
            }

    machine = f"{os.cpu_count()} cores, {cpu_name()}, Python {platform.python_version()}"
    lines = [
        "# bench-local: 60 s spoken brief through the local pipeline",
        "",
        f"Audio: espeak-ng, {duration:.1f} s. Machine: {machine}. Median of {args.repeats} runs each.",
        f"Command: `make bench-local` (python bench/local_pipeline.py). Goal: full preset <= {GOAL_S:.0f} s wall.",
        "",
        "| stage | " + " | ".join(rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    names = [s for s in STAGES if any(s in r["stages_s_median"] for r in rows.values())]
    for stage in names:
        cells = [f"{r['stages_s_median'].get(stage, 0.0):.3f}" for r in rows.values()]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("| **wall** | " + " | ".join(f"**{r['wall_s_median']:.2f}**" for r in rows.values()) + " |")
    lines.append(
        "| frames rendered | "
        + " | ".join(f"{r['frames_rendered']}/{r['frames_total']}" for r in rows.values())
        + " |"
    )
    lines += [
        "",
        "wall = the whole `storyreel run --json` command in a fresh process (interpreter start, imports and "
        "the decoder pool included), as a user runs it; virality runs in a thread beside scenes+images.",
        "",
    ]
    full = rows.get("full")
    if full:
        verdict = "meets" if full["wall_s_median"] <= GOAL_S else "misses"
        lines.append(f"Full preset: {full['wall_s_median']:.2f} s wall — {verdict} the {GOAL_S:.0f} s goal.")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "local_pipeline.md").write_text(text)
    (RESULTS / "local_pipeline.json").write_text(
        json.dumps({"audio_s": duration, "machine": machine, "presets": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
