"""bench-planner: how long the local planner takes per brief and the sketch renderer per frame.

Planner: context extraction + scene writing (5 and 10 scenes) on three briefs (punctuated rambling, lowercase
ASR with timed segments, a long three-minute ramble). Sketch: start and end frames at 1344x768 (the default
size), end frames derived from their start PNG as in a run. Prints a table and writes
bench/results/planner.{md,json}.

    python bench/planner_sketch.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.services.images.providers.base import ImageRequest  # noqa: E402
from storyreel.services.images.providers.sketch import SketchRenderer  # noqa: E402
from storyreel.services.scenes.providers.local import LocalPlanner  # noqa: E402
from storyreel.shared.contracts import Segment, Transcript  # noqa: E402

RESULTS = ROOT / "bench" / "results"

RAMBLING = (
    "Okay, um, so this is a brief for a sixty second TikTok about our new oat milk latte. "
    "It's aimed at busy parents who need a calm moment in the morning. We want to sell it, you know, get people "
    "into the cafe. The vibe is like cozy and warm, kind of nostalgic. Colors should be terracotta, cream and "
    "sage green. Open with a close up of the latte art. Then show a barista pouring the oat milk, and then we "
    "see a mom taking the first sip by the window. After that, show the cafe counter with fresh pastries. "
    "Finally, end with our logo and say link in bio. Music wise, lo-fi beats with a little acoustic guitar."
)
ASR = [
    "um so this is a brief for a youtube shorts video",
    "about making cold brew coffee at home",
    "it's for college students who don't have a lot of money",
    "i want it to feel relaxed and fun",
    "first we show the coarse ground beans in a mason jar",
    "then pour cold water over them and stir",
    "then the jar sits in the fridge overnight as a time lapse",
    "next morning we strain it through a paper filter",
    "end with the student sipping it and say follow for more cheap recipes",
    "keep it around thirty seconds",
    "earthy browns and cream colors with lo fi music",
]


def briefs() -> dict[str, Transcript]:
    segs, t = [], 0.0
    for text in ASR:
        dur = 0.3 * len(text.split())
        segs.append(Segment(start=round(t, 2), end=round(t + dur, 2), text=text))
        t += dur + 0.5
    long_text = " ".join([RAMBLING.replace("sixty second", "three minute")] * 6)
    return {
        "rambling (punctuated, 115 words)": Transcript(text=RAMBLING, duration_s=45),
        "ASR (lowercase, 11 segments)": Transcript(text=" ".join(ASR), duration_s=t, segments=segs),
        "long ramble (690 words)": Transcript(text=long_text, duration_s=180),
    }


def ms(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1000, s[min(len(s) - 1, int(len(s) * 0.95))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="few repeats (CI)")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 20)
    planner = LocalPlanner()
    rows = []
    for name, transcript in briefs().items():
        planner.write_scenes(transcript, planner.extract_context(transcript), {}, 5)  # warm regex caches
        for n in (5, 10):
            samples = []
            for _ in range(repeats):
                fresh = LocalPlanner()  # a run's one reading: its memo of the last transcript starts empty
                t0 = time.perf_counter()
                context = fresh.extract_context(transcript)
                fresh.write_scenes(transcript, context, {}, n)
                samples.append(time.perf_counter() - t0)
            med, p95 = ms(samples)
            rows.append(
                {"what": f"planner: {name}, {n} scenes", "median_ms": round(med, 2), "p95_ms": round(p95, 2)}
            )

    renderer = SketchRenderer()
    transcript = briefs()["rambling (punctuated, 115 words)"]
    context = planner.extract_context(transcript)
    plan = planner.write_scenes(transcript, context, {}, 10)
    starts, ends = [], []
    for _ in range(max(1, repeats // 5)):
        for scene in plan.scenes:
            meta = {
                "scene_index": scene.index,
                "scene_title": scene.title,
                "camera": scene.camera,
                "transition": scene.transition,
                "duration": scene.duration,
                "palette": context.color_palette,
            }
            req = ImageRequest(
                f"s{scene.index}-start",
                scene.start_frame.prompt,
                "",
                1344,
                768,
                1000 + scene.index,
                meta={**meta, "role": "start"},
            )
            res = renderer.render([req])[0]
            starts.append(res.seconds)
            end = ImageRequest(
                f"s{scene.index}-end",
                scene.end_frame.prompt,
                "",
                1344,
                768,
                1000 + scene.index,
                init_image=res.png,
                meta={**meta, "role": "end"},
            )
            ends.append(renderer.render([end])[0].seconds)
    for label, samples in (
        ("sketch: start frame 1344x768", starts),
        ("sketch: end frame from start 1344x768", ends),
    ):
        med, p95 = ms(samples)
        rows.append(
            {"what": f"{label} ({len(samples)} frames)", "median_ms": round(med, 2), "p95_ms": round(p95, 2)}
        )

    header = (
        f"host: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"python {platform.python_version()} · repeats {repeats}"
    )
    lines = [
        "# planner and sketch benchmark",
        "",
        header,
        "",
        "| what | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['what']} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "planner.md").write_text(text)
    (RESULTS / "planner.json").write_text(json.dumps({"host": header, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
