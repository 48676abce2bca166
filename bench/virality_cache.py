"""Virality evidence: cold vs cached. A local Firecrawl-compatible server adds latency to every request (like
the real API); the same brief is scored cold (empty cache), then again (served from the cache), then with other
keywords (cold again). Prints a table and writes bench/results/virality_cache.md.

    python bench/virality_cache.py            # 300 ms per request, 5 forums x 5 threads, 3 repeats
    python bench/virality_cache.py --quick    # 100 ms per request, 1 repeat
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import storyreel.services.virality.providers.firecrawl  # noqa: E402, F401  (the SDK import is not part of a run's time)
from storyreel.services.virality.score import evaluate, get_evidence_source  # noqa: E402
from storyreel.shared.contracts import CreativeContext, Transcript  # noqa: E402
from storyreel.shared.stores import SqliteStateStore  # noqa: E402

from testkit.vendors.firecrawl import FakeFirecrawl, forum_config  # noqa: E402
from testkit.vendors.forums import FakeWeb, make_threads  # noqa: E402

FORUMS = ["reddit:r/videos", "reddit:r/youtube", "reddit:r/videoediting", "hackernews"]
TRANSCRIPT = Transcript(
    text="Did you know most home cooks burn their garlic? I want a quick cooking video of my garlic pasta. "
    "I love how simple it is!",
    duration_s=12.0,
)


def context(keywords: list[str]) -> CreativeContext:
    return CreativeContext(
        title="t",
        subject="garlic pasta",
        intent="educate",
        vibe="warm",
        content_style="tutorial",
        target_audience="home cooks",
        keywords=keywords,
        tone="positive",
        sentiment=0.5,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--latency", type=float, default=None, help="seconds added to every request")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "virality_cache.md"))
    args = ap.parse_args()
    latency = args.latency if args.latency is not None else (0.1 if args.quick else 0.3)
    repeats = 1 if args.quick else 3

    web = FakeWeb(latency_s=latency, inline_markdown=False)  # search, then one scrape per thread
    for forum in [*FORUMS, "reddit:r/Cooking"]:
        web.add(make_threads(forum, 5))
    server = FakeFirecrawl(web).start()
    rows: dict[str, list[tuple[float, int, int]]] = {}
    try:
        for rep in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                cache = SqliteStateStore(Path(tmp) / "state.sqlite3")
                for label, keywords, conc in (
                    ("cold, concurrency 1", ["garlic pasta", "cooking"], 1),
                    ("cold, concurrency 4", ["pasta sauce", "cooking"], 4),
                    ("cached (same keywords)", ["pasta sauce", "cooking"], 4),
                    ("cached (same keywords, other order/case)", ["Cooking", "Pasta Sauce"], 4),
                    ("cold (other keywords)", ["garlic bread", "cooking"], 4),
                ):
                    config = forum_config(
                        server,
                        FORUMS,
                        topic_subreddits=True,
                        concurrency=conc,
                        time_budget_s=20,
                        request_timeout_s=10,
                    )
                    before = len(server.requests)
                    t0 = time.perf_counter()
                    report = evaluate(
                        TRANSCRIPT, context(keywords), {}, get_evidence_source(config, cache), config
                    )
                    wall = time.perf_counter() - t0
                    ok = sum(1 for s in report.sources if s.ok)
                    rows.setdefault(label, []).append((wall, len(server.requests) - before, ok))
                    assert report.method == "content+forums", report.not_evaluated
            print(f"repeat {rep + 1}/{repeats} done", file=sys.stderr)
    finally:
        server.stop()

    lines = [
        "# Virality evidence: cold vs cached",
        "",
        f"`python bench/virality_cache.py{' --quick' if args.quick else ''}` - local Firecrawl-compatible server, "
        f"{latency * 1000:.0f} ms added to every request; 5 forums (4 configured + 1 topic subreddit) x 5 threads; "
        "search results without inline markdown, so each forum is 1 search + 5 scrapes. "
        f"Median of {repeats} repeat(s); cache = SqliteStateStore.",
        "",
        "| run | wall time | requests to the server | forums answered |",
        "|---|---:|---:|---:|",
    ]
    for label, vals in rows.items():
        wall = statistics.median(v[0] for v in vals)
        lines.append(f"| {label} | {wall * 1000:.0f} ms | {vals[0][1]} | {vals[0][2]} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
