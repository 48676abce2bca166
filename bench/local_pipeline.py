"""bench-local: a 60-second spoken brief through the full local pipeline, on the embedded defaults.

Speech is made with scripts/speak.sh (espeak-ng) from bench/briefs/brief-60s.txt, then each preset runs end to end through the
same runner the CLI uses. Prints the stage table and writes bench/results/local_pipeline.{md,json}.
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

from shared.pipeline import STAGES  # noqa: E402
from shared.settings import load_settings  # noqa: E402
from shared.stores import SqliteStateStore  # noqa: E402
from storyreel.runner import run_pipeline  # noqa: E402

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
        state = SqliteStateStore(tmpdir / "home" / "state.sqlite3")
        rows: dict[str, dict] = {}
        for preset in args.presets.split(","):
            settings = load_settings(cli={"preset": preset}, environ={})
            walls: list[float] = []
            stages: dict[str, list[float]] = {s: [] for s in STAGES}
            frames = score = None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                record = run_pipeline(wav, settings, tmpdir / "out", state=state)
                walls.append(time.perf_counter() - t0)
                for name, timing in record.stages.items():
                    stages.setdefault(name, []).append(timing.seconds or 0.0)
                frames, score = record.frames, record.virality_score
            rows[preset] = {
                "wall_s_median": round(statistics.median(walls), 3),
                "wall_s_all": [round(w, 3) for w in walls],
                "stages_s_median": {k: round(statistics.median(v), 3) for k, v in stages.items() if v},
                "frames_rendered": frames.rendered if frames else None,
                "frames_total": frames.total if frames else None,
                "virality_score": score,
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
        "virality runs in a thread beside scenes+images, so stage times do not add up to the wall.",
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
