"""bench-providers: 10 keyframes against a fake vendor server that takes L seconds per image.

For each API image provider (Replicate via its SDK, Stability via httpx, OpenAI images via its SDK), the wall time
with the configured concurrency next to the sequential time (concurrency 1). Goal: concurrent wall <= 1.3 L.

    python bench/providers.py [--latency 1.0] [--frames 10] [--concurrency 10] [--quick]

Table -> stdout and bench/results/providers.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.services.images.providers.base import ImageRequest  # noqa: E402
from storyreel.shared.settings import ImageGenerationConfig  # noqa: E402

from testkit.vendors.openai import FakeOpenAI  # noqa: E402
from testkit.vendors.replicate import FakeReplicate  # noqa: E402
from testkit.vendors.stability import FakeStability  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def requests(n: int) -> list[ImageRequest]:
    return [
        ImageRequest(f"s{i // 2 + 1}-{'start' if i % 2 == 0 else 'end'}", f"frame {i}", "", 1344, 768, seed=i)
        for i in range(n)
    ]


@contextmanager
def vendor(name: str, latency: float):
    saved = dict(os.environ)
    if name == "replicate":
        server = FakeReplicate(latency=latency)
        env = {"REPLICATE_API_TOKEN": "r8_bench", "REPLICATE_POLL_INTERVAL": "0.05"}
        base_key = "REPLICATE_BASE_URL"
    elif name == "stability":
        server = FakeStability(latency=latency)
        env = {"STABILITY_API_KEY": "sk-bench"}
        base_key = "STABILITY_BASE_URL"
    else:
        server = FakeOpenAI()
        server.image_latency = latency
        env = {"OPENAI_API_KEY": "sk-bench"}
        base_key = "OPENAI_BASE_URL"
    with server:
        os.environ.update(env)
        os.environ[base_key] = server.base_url if name == "openai" else server.url
        try:
            yield server
        finally:
            os.environ.clear()
            os.environ.update(saved)


def provider_for(name: str, concurrency: int):
    config = ImageGenerationConfig(provider=name, concurrency=concurrency, timeout_s=120, max_retries=2)
    if name == "replicate":
        from storyreel.services.images.providers.replicate import ReplicateProvider

        return ReplicateProvider(config)
    if name == "stability":
        from storyreel.services.images.providers.stability import StabilityProvider

        return StabilityProvider(config)
    from storyreel.services.images.providers.openai import OpenAIImagesProvider

    return OpenAIImagesProvider(config)


def measure(name: str, latency: float, frames: int, concurrency: int) -> dict:
    with vendor(name, latency) as server:
        provider = provider_for(name, concurrency)
        provider.render(requests(1))  # warm-up: imports and first connections are paid once per process
        server.peak_in_flight = 0
        t0 = time.perf_counter()
        results = provider.render(requests(frames))
        wall = time.perf_counter() - t0
        failed = [r.error for r in results if not r.ok]
        return {
            "wall_s": wall,
            "ok": frames - len(failed),
            "errors": failed[:3],
            "peak": server.peak_in_flight,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=1.0, help="seconds the fake server takes per image (L)")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=ImageGenerationConfig().concurrency)
    ap.add_argument("--providers", default="replicate,stability,openai")
    ap.add_argument("--quick", action="store_true", help="L = 0.5 s (CI)")
    ap.add_argument("--out", type=Path, default=RESULTS / "providers")
    args = ap.parse_args(argv)
    latency = 0.5 if args.quick else args.latency

    rows = []
    for name in args.providers.split(","):
        concurrent = measure(name, latency, args.frames, args.concurrency)
        sequential = measure(name, latency, args.frames, 1)
        rows.append(
            {
                "provider": name,
                "L_s": latency,
                "frames": args.frames,
                "concurrency": args.concurrency,
                "wall_s": round(concurrent["wall_s"], 3),
                "wall_over_L": round(concurrent["wall_s"] / latency, 2),
                "sequential_s": round(sequential["wall_s"], 3),
                "ideal_sequential_s": round(args.frames * latency, 3),
                "speedup": round(sequential["wall_s"] / concurrent["wall_s"], 2),
                "peak_in_flight": concurrent["peak"],
                "ok": f"{concurrent['ok']}/{args.frames}",
                "goal_met": concurrent["wall_s"] <= 1.3 * latency,
                "errors": concurrent["errors"] + sequential["errors"],
            }
        )

    header = (
        "| provider | L (s) | frames | concurrency | wall (s) | wall / L | sequential (s) | 10 L (s) | speedup "
        "| peak in flight | frames ok | wall <= 1.3 L |"
    )
    lines = [
        f"# bench-providers: {args.frames} keyframes, fake server taking L = {latency:g} s per image",
        "",
        f"`python bench/providers.py{' --quick' if args.quick else f' --latency {latency:g}'}` on "
        f"{platform.node() or 'this machine'} ({os.cpu_count()} CPUs), Python {platform.python_version()}. "
        "Each provider's real client (replicate SDK, httpx, openai SDK) against a local server that speaks its "
        "wire format; sequential = the same provider with concurrency 1. One warm-up frame per provider first "
        "(imports, first connection), as in a warm process.",
        "",
        header,
        "|" + "---|" * 12,
    ]
    for r in rows:
        lines.append(
            f"| {r['provider']} | {r['L_s']:g} | {r['frames']} | {r['concurrency']} | {r['wall_s']:.2f} | "
            f"{r['wall_over_L']:.2f} | {r['sequential_s']:.2f} | {r['ideal_sequential_s']:.1f} | {r['speedup']:.1f}x | "
            f"{r['peak_in_flight']} | {r['ok']} | {'yes' if r['goal_met'] else 'NO'} |"
        )
    errors = [f"- {r['provider']}: {e}" for r in rows for e in r["errors"]]
    if errors:
        lines += ["", "Errors:", *errors]
    table = "\n".join(lines) + "\n"
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["goal_met"] and not r["errors"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
