"""Animatic export speed: a 10-scene, 30 s storyboard (sketch keyframes, the planner's camera moves and
transitions) exported to animatic.mp4 at 1080p through services/export/step.py, on the machine's cores.
Goal: export wall time <= 1/3 of the animatic's length. Prints a table and writes bench/results/export.md
and export.json.

    python bench/export.py               # 24 and 30 fps, 9:16 (the board's platform) and 16:9, 2 repeats
    python bench/export.py --quick       # 24 fps, 9:16, once
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.services.export import animatic  # noqa: E402
from storyreel.services.export.step import ExportOptions, export  # noqa: E402
from storyreel.shared.contracts import Storyboard, Transcript  # noqa: E402
from storyreel.shared.stores import LocalBlobStore  # noqa: E402

from testkit.briefs import RAMBLING_BRIEF, build_run  # noqa: E402
from testkit.fakes import make_context  # noqa: E402

SCENES = 10
SECONDS = 30.0
GOAL = 1 / 3


def board_of_ten(root: Path) -> Path:
    """A finished run (the local planner's five scenes, sketch keyframes) grown to 10 scenes of 3 s each: the
    second five repeat the first five's images, moves and transitions."""
    folder = build_run(
        root / "runs", Transcript(text=RAMBLING_BRIEF, duration_s=45.0), limit_images=10, fail=None
    )
    path = folder / "storyboard.json"
    board = Storyboard.model_validate_json(path.read_text())
    scenes = [s.model_copy(deep=True) for s in board.scenes]
    more = [s.model_copy(update={"index": s.index + len(scenes)}, deep=True) for s in scenes]
    board.scenes = scenes + more
    for scene in board.scenes:
        scene.duration = SECONDS / SCENES
    path.write_text(board.model_dump_json(indent=2))
    return folder


def cpu_s() -> float:
    """User + system seconds of this process and its waited-for children (the ffmpeg encoders)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ffmpeg_version() -> str:
    out = subprocess.run(
        [animatic.ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False
    ).stdout
    return out.splitlines()[0] if out else "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "export.md"))
    args = ap.parse_args()
    cases = [(24, "9:16")] if args.quick else [(24, "9:16"), (30, "9:16"), (24, "16:9")]
    repeats = 1 if args.quick else 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = board_of_ten(Path(tmp))
        ctx = make_context(Path(tmp), blobs=LocalBlobStore(folder.parent))
        moves = [
            s.camera for s in Storyboard.model_validate_json((folder / "storyboard.json").read_text()).scenes
        ]
        for fps, aspect in cases:
            walls, cpus, loads = [], [], []
            for _ in range(repeats):
                options = ExportOptions(formats=["mp4"], fps=fps, aspect=aspect, captions="srt")  # type: ignore[arg-type]
                loads.append(os.getloadavg()[0])
                c0 = cpu_s()
                t0 = time.perf_counter()
                result = export(ctx, options)
                walls.append(time.perf_counter() - t0)
                cpus.append(cpu_s() - c0)
            wall = statistics.median(walls)
            cpu = statistics.median(cpus)
            size = (folder / "exports" / "animatic.mp4").stat().st_size
            rows.append(
                {
                    "fps": fps,
                    "aspect": aspect,
                    "frame": f"{result.size[0]}x{result.size[1]}",
                    "frames": result.frames,
                    "animatic_s": result.frames / fps,
                    "wall_s": round(wall, 2),
                    "walls_s": [round(w, 2) for w in walls],
                    "ratio": round(wall / (result.frames / fps), 3),
                    "goal_met": wall / (result.frames / fps) <= GOAL,
                    "cpu_s": round(cpu, 2),
                    "cpu_per_core_ratio": round(cpu / (os.cpu_count() or 1) / (result.frames / fps), 3),
                    "load_1min": [round(x, 1) for x in loads],
                    "mp4_bytes": size,
                }
            )
            print(
                f"{fps} fps {aspect}: {wall:.2f} s for {result.frames / fps:.1f} s -> ratio {rows[-1]['ratio']}"
            )
    meta = {
        "cores": os.cpu_count(),
        "load_1min_after": os.getloadavg()[0],
        "python": platform.python_version(),
        "ffmpeg": ffmpeg_version(),
        "preset": animatic.PRESET,
        "x264_params": animatic.X264_PARAMS,
        "crf": animatic.CRF,
        "scenes": SCENES,
        "seconds": SECONDS,
        "camera_notes": moves,
        "repeats": repeats,
    }
    header = (
        "| fps | aspect | frame | frames | animatic s | export wall s (median) | ratio (goal <= 0.333) | met "
        "| CPU s (all processes) | CPU s / cores / length | 1-min load | MP4 MB |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['fps']} | {r['aspect']} | {r['frame']} | {r['frames']} | {r['animatic_s']:.1f} | {r['wall_s']:.2f} "
            f"({', '.join(str(w) for w in r['walls_s'])}) | {r['ratio']:.3f} | {'yes' if r['goal_met'] else 'no'} | "
            f"{r['cpu_s']:.1f} | {r['cpu_per_core_ratio']:.3f} | {', '.join(str(x) for x in r['load_1min'])} | "
            f"{r['mp4_bytes'] / 1e6:.1f} |"
        )
    table = "\n".join(lines)
    print(table)
    md = (
        "# Animatic export speed (bench/export.py)\n\n"
        f"A {SCENES}-scene, {SECONDS:g} s storyboard (sketch keyframes; camera notes: {', '.join(sorted(set(moves)))}; "
        "the planner's transitions) exported to animatic.mp4 through services/export/step.py (stills laid out once, "
        "frames cut from YUV planes with OpenCV and piped raw to one ffmpeg; libx264 preset "
        f"{animatic.PRESET}, {animatic.X264_PARAMS}, CRF {animatic.CRF}), SRT captions beside it, no audio. The "
        "wall time includes reading the keyframes and publishing the file. CPU s is this process's and its "
        "children's (ffmpeg) user + system time over the export: on an idle machine the wall cannot be below "
        "CPU s / cores, so the `CPU s / cores / length` column is the best ratio these cores could give.\n\n"
        f"Machine: {meta['cores']} cores, shared with other engineers' work while this ran (1-minute load "
        f"{meta['load_1min_after']:.1f} at the end; each export's at its start is in the table), Python "
        f"{meta['python']}, {meta['ffmpeg']}.\n\n{table}\n"
    )
    out = Path(args.out)
    if not args.quick:
        out.write_text(md)
        out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
        print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
