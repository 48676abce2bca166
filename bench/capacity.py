"""make capacity: what one run costs per preset, and which quota binds first at 1 to 10,000 runs an hour.

The counts come from the stack itself: one run per preset goes through the real state machine in moto with the
real handlers and the real vendor SDKs against the fake vendors (bench/cloudsim.py), and every boto3 call the
handlers make, every state transition and every vendor request is counted. Memory sizes, timeouts, reserved
concurrency, Map concurrency and the API usage plan are read from infra/ (functions.py, config.py). Prices and
quotas are the dated tables below, with their sources; durations of the vendor calls are the seed's measured
latencies (bench/cloudsim.py SEED_LATENCY_S), since moto's wall time says nothing about AWS.

    python bench/capacity.py [--quick]      # -> stdout, docs/capacity-tables.md, bench/results/capacity.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import cloudsim as cs  # noqa: E402

from infra.config import InfraConfig  # noqa: E402
from infra.functions import FUNCTIONS  # noqa: E402

PRICES_READ = "2026-12-03"
# USD, us-east-1, on-demand list prices. Source per line; re-read them before relying on a total.
PRICES = {
    "lambda_gb_s": (0.0000166667, "https://aws.amazon.com/lambda/pricing/ (x86, first 6 B GB-s tier)"),
    "lambda_request": (0.20 / 1e6, "https://aws.amazon.com/lambda/pricing/"),
    "sfn_transition": (0.025 / 1000, "https://aws.amazon.com/step-functions/pricing/ (Standard)"),
    "s3_put": (0.005 / 1000, "https://aws.amazon.com/s3/pricing/ (PUT, COPY, POST, LIST)"),
    "s3_get": (0.0004 / 1000, "https://aws.amazon.com/s3/pricing/ (GET, HEAD and others)"),
    "ddb_write": (0.625 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/ (per write request unit)"),
    "ddb_read": (0.125 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/ (per read request unit)"),
    "events_put": (1.00 / 1e6, "https://aws.amazon.com/eventbridge/pricing/ (custom events)"),
    "sqs_request": (0.40 / 1e6, "https://aws.amazon.com/sqs/pricing/"),
    "apigw_request": (3.50 / 1e6, "https://aws.amazon.com/api-gateway/pricing/ (REST, first 333 M)"),
    "secrets_call": (0.05 / 10000, "https://aws.amazon.com/secrets-manager/pricing/"),
    "whisper_minute": (0.006, "https://developers.openai.com/api/docs/pricing (whisper-1)"),
    "gpt4o_in_token": (2.50 / 1e6, "https://developers.openai.com/api/docs/models/gpt-4o"),
    "gpt4o_out_token": (10.00 / 1e6, "https://developers.openai.com/api/docs/models/gpt-4o"),
    "replicate_image": (0.003, "services/images/providers/replicate.py PRICE_PER_IMAGE (flux-schnell)"),
    "firecrawl_credit": (
        83 / 100_000,
        "https://www.firecrawl.dev/pricing (Standard plan: 100k credits/month; 1 credit per scrape, search "
        "2 credits per 10 results) - ASSUMPTION: plan price not in the stored docs, check before use",
    ),
    "gpu_hour": (
        1.006,
        "https://aws.amazon.com/ec2/pricing/on-demand/ (g5.xlarge, Linux) - Batch adds nothing",
    ),
}
# Default quotas per account and region (us-east-1), read the same day.
QUOTAS_SOURCES = {
    "lambda": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (1,000 concurrent executions)",
    "sfn": "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (StartExecution bucket 1,300 "
    "refill 300/s; StateTransition bucket 5,000 refill 5,000/s in us-east-1; new accounts start lower)",
    "apigw": "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (10,000 rps per account); "
    "the stack's usage plan: infra/config.py",
    "replicate": "https://replicate.com/docs/topics/predictions/rate-limits (600 creates/min, 3,000 other/min)",
    "openai": "https://platform.openai.com/docs/guides/rate-limits (usage tier 1, gpt-4o: 500 RPM, 30,000 TPM; "
    "whisper-1: 500 RPM; tier 5: 10,000 RPM, 30,000,000 TPM)",
    "firecrawl": "https://docs.firecrawl.dev/rate-limits (Standard: /scrape 500/min, /search 250/min; Growth: "
    "5,000 and 2,500)",
}
CHARS_PER_TOKEN = 4.0  # OpenAI's rule of thumb for English; the fake's own usage numbers are not a model's
BRIEF_SECONDS = 60.0  # the brief the cost is for: one minute of speech
RATES = (1, 100, 1000, 10_000)  # runs per hour
PRESETS = ("preview", "quick", "full")
BRIEF = (
    "We want a thirty second Instagram video about our small coffee roastery. Show the roaster drum in the "
    "morning light, the beans cooling, and people in the cafe. Warm and calm, acoustic guitar."
)


@dataclass
class RunCounts:
    preset: str
    status: str
    executions: int
    transitions: int
    lambdas: Counter  # function name -> invocations
    aws: Counter  # "service Operation" -> calls
    vendor: Counter  # "vendor route" -> requests
    in_tokens: float
    out_tokens: float
    images: int
    wall_s: float


def _vendor_counts(sim: cs.Sim, since: dict[str, int]) -> Counter:
    out: Counter = Counter()
    for vendor, server in (
        ("openai", sim.openai),
        ("replicate", sim.replicate),
        ("firecrawl", sim.firecrawl),
    ):
        for req in server.requests[since[vendor] :]:
            name = next(
                (n for n, m, rx, _ in server.routes if m == req.method and rx.match(req.path)), req.path
            )
            out[f"{vendor} {name}"] += 1
    return out


def _tokens(sim: cs.Sim, since: int) -> tuple[float, float]:
    """Prompt and answer sizes of the chat requests the real SDK sent, in tokens at CHARS_PER_TOKEN."""
    chars_in = chars_out = 0
    for req in sim.openai.requests[since:]:
        if req.path.endswith("/chat/completions") and isinstance(req.json, dict):
            chars_in += sum(len(str(m.get("content", ""))) for m in req.json.get("messages", []))
            chars_in += len(
                json.dumps(req.json.get("response_format", {}))
            )  # the schema is part of the prompt
            chars_out += len(cs.planning_reply(req.json))
    return chars_in / CHARS_PER_TOKEN, chars_out / CHARS_PER_TOKEN


def measure(sim: cs.Sim, preset: str, audio: bytes) -> RunCounts:
    import testkit.aws as kit

    sim.calls.clear()
    start_calls = len(sim.lambda_calls)
    since = {"openai": len(sim.openai.requests), "replicate": len(sim.replicate.requests)}
    since["firecrawl"] = len(sim.firecrawl.requests)
    key = f"uploads/capacity-{preset}.wav"
    cs.upload(key, sim.options(preset), audio)
    t0 = time.monotonic()
    out = cs.deliver(key)
    run_id = out["run_id"]
    done = kit.wait(run_id, timeout=300)
    names = [run_id]
    for answer in cs.render_rest_pending():  # quick: the background render of the rest
        if answer.get("execution_arn"):
            name = answer["execution_arn"].rsplit(":", 1)[1]
            kit.wait(run_id, timeout=300, name=name)
            names.append(name)
    wall = time.monotonic() - t0
    by_name = {e["name"]: e["executionArn"] for e in cs.executions(sim.machine_arn)}
    trans = sum(cs.transitions(cs.history(by_name[n])) for n in names)
    lambdas: Counter = Counter(name for name, _ in sim.lambda_calls[start_calls:])
    lambdas["storyreel-intake"] += 1
    lambdas["storyreel-renderrest"] += len(names) - 1
    board = json.loads(kit.blob(run_id, "storyboard.json"))
    tin, tout = _tokens(sim, since["openai"])
    return RunCounts(
        preset=preset,
        status=done["status"],
        executions=len(names),
        transitions=trans,
        lambdas=lambdas,
        aws=Counter({f"{s} {op}": n for (s, op), n in sim.calls.items()}),
        vendor=_vendor_counts(sim, since),
        in_tokens=tin,
        out_tokens=tout,
        images=int(board["frames"]["rendered"]),
        wall_s=wall,
    )


# --------------------------------------------------------------------------- the model
SPEC = {f"storyreel-{spec.id.lower()}": spec for spec in FUNCTIONS}


def lambda_seconds(c: RunCounts) -> dict[str, float]:
    """Billed seconds per function for one run: its vendor calls at the seed's latencies + 0.3 s each call."""
    lat = cs.SEED_LATENCY_S
    per_fn: dict[str, float] = {}
    for fn, n in c.lambdas.items():
        per_fn[fn] = 0.3 * n
    per_fn["storyreel-transcribe"] = (
        per_fn.get("storyreel-transcribe", 0.0) + lat["transcribe"] * c.vendor["openai transcriptions"]
    )
    chats = c.vendor["openai chat"]
    per_fn["storyreel-context"] = per_fn.get("storyreel-context", 0.0) + lat["chat"] * min(chats, 1)
    per_fn["storyreel-scenes"] = per_fn.get("storyreel-scenes", 0.0) + lat["chat"] * max(chats - 1, 0)
    creates = c.vendor["replicate create-model"] + c.vendor["replicate create-version"]
    per_fn["storyreel-images"] = per_fn.get("storyreel-images", 0.0) + lat["image"] * creates
    forum = c.vendor["firecrawl search"] + c.vendor["firecrawl scrape"]
    if forum:  # concurrent within the stage's time budget
        per_fn["storyreel-virality"] = per_fn.get("storyreel-virality", 0.0) + 8.0
    return {fn: s for fn, s in per_fn.items() if c.lambdas.get(fn)}


def cost(c: RunCounts) -> dict[str, float]:
    p = {k: v for k, (v, _) in PRICES.items()}
    secs = lambda_seconds(c)
    gb_s = sum(s * SPEC[fn].memory_mb / 1024 for fn, s in secs.items() if fn in SPEC)
    puts = sum(
        n
        for k, n in c.aws.items()
        if k.startswith("s3 ")
        and k.split()[1] in ("PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "DeleteObject")
    )
    gets = sum(n for k, n in c.aws.items() if k.startswith("s3 ")) - puts
    ddb_w = sum(
        n
        for k, n in c.aws.items()
        if k.startswith("dynamodb ")
        and k.split()[1] in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
    )
    ddb_r = sum(n for k, n in c.aws.items() if k.startswith("dynamodb ")) - ddb_w
    out = {
        "Lambda compute": gb_s * p["lambda_gb_s"],
        "Lambda requests": sum(c.lambdas.values()) * p["lambda_request"],
        "Step Functions transitions": c.transitions * p["sfn_transition"],
        "S3 requests": puts * p["s3_put"] + gets * p["s3_get"],
        "DynamoDB requests": ddb_w * p["ddb_write"] + ddb_r * p["ddb_read"],
        "EventBridge + SQS": c.aws["events PutEvents"] * p["events_put"],
        "Secrets Manager": c.aws["secretsmanager GetSecretValue"] * p["secrets_call"],
        "OpenAI Whisper": (BRIEF_SECONDS / 60) * p["whisper_minute"] * c.vendor["openai transcriptions"],
        "OpenAI GPT-4o": c.in_tokens * p["gpt4o_in_token"] + c.out_tokens * p["gpt4o_out_token"],
        "Replicate images": c.images * p["replicate_image"],
        "Firecrawl credits": (c.vendor["firecrawl scrape"] + 2 * c.vendor["firecrawl search"])
        * p["firecrawl_credit"],
    }
    return out


def quotas(cfg: InfraConfig) -> dict[str, tuple[float, str]]:
    """Each limit as (units per hour, unit), the stack's own where it sets one."""
    images_conc = cfg.images_reserved_concurrency or 1000
    return {
        "Lambda account concurrency (1,000)": (1000 * 3600, "Lambda-seconds"),
        f"Images reserved concurrency ({images_conc})": (images_conc * 3600, "Images-seconds"),
        "Step Functions StartExecution (300/s)": (300 * 3600, "executions"),
        "Step Functions StateTransition (5,000/s)": (5000 * 3600, "transitions"),
        f"API usage plan quota, per API key ({cfg.api_quota_per_day}/day)": (
            cfg.api_quota_per_day / 24,
            "API requests",
        ),
        f"API usage plan rate, per API key ({cfg.api_rate_limit:g} rps)": (
            cfg.api_rate_limit * 3600,
            "API requests",
        ),
        "Replicate creates (600/min)": (600 * 60, "predictions"),
        "OpenAI gpt-4o TPM, tier 1 (30k)": (30_000 * 60, "tokens"),
        "OpenAI gpt-4o TPM, tier 5 (30M)": (30_000_000 * 60, "tokens"),
        "OpenAI RPM, tier 1 (500)": (500 * 60, "OpenAI requests"),
        "Firecrawl /search, Standard (250/min)": (250 * 60, "searches"),
        "Firecrawl /scrape, Standard (500/min)": (500 * 60, "scrapes"),
    }


def demand(c: RunCounts, api_calls_per_run: float) -> dict[str, float]:
    secs = lambda_seconds(c)
    return {
        "Lambda-seconds": sum(secs.values()),
        "Images-seconds": secs.get("storyreel-images", 0.0),
        "executions": c.executions,
        "transitions": c.transitions,
        "API requests": api_calls_per_run,
        "predictions": c.vendor["replicate create-model"] + c.vendor["replicate create-version"],
        "tokens": c.in_tokens + c.out_tokens,
        "OpenAI requests": c.vendor["openai chat"] + c.vendor["openai transcriptions"],
        "searches": c.vendor["firecrawl search"],
        "scrapes": c.vendor["firecrawl scrape"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "capacity"))
    ap.add_argument(
        "--api-calls-per-run", type=float, default=12.0, help="create + polls at 5 s + storyboard"
    )
    args = ap.parse_args()
    cfg = InfraConfig()
    audio = cs.speech(BRIEF)
    counts: dict[str, RunCounts] = {}
    with cs.simulation(scale=0.01) as sim:
        for preset in PRESETS:
            counts[preset] = measure(sim, preset, audio)
    lines = [
        "# Capacity and cost (make capacity)",
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; prices and quotas read {PRICES_READ} "
        "(sources below); us-east-1, on-demand",
        "- counts: one run per preset through the real state machine in moto, real handlers, real vendor SDKs "
        "against the fake vendors (bench/cloudsim.py); stages on their cloud providers (OpenAI Whisper + GPT-4o, "
        "Replicate flux-schnell, Firecrawl)",
        f"- durations: the vendor calls at the seed's measured latencies ({cs.SEED_LATENCY_S}) + 0.3 s per "
        "invocation; tokens: the real requests' characters / 4",
        f"- the brief: {BRIEF_SECONDS:.0f} s of speech; the API client polls: {args.api_calls_per_run:g} API "
        "requests per run (a run started by an S3 upload makes none)",
        "",
        "## What one run asks for",
        "",
        "| preset | status | executions | transitions | Lambda invocations | S3 requests | DynamoDB requests | "
        "OpenAI requests | tokens (in/out) | Replicate creates | Firecrawl search/scrape | images |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for p, c in counts.items():
        s3 = sum(n for k, n in c.aws.items() if k.startswith("s3 "))
        ddb = sum(n for k, n in c.aws.items() if k.startswith("dynamodb "))
        d = demand(c, args.api_calls_per_run)
        lines.append(
            f"| {p} | {c.status} | {c.executions} | {c.transitions} | {sum(c.lambdas.values())} | {s3} | {ddb} | "
            f"{d['OpenAI requests']:.0f} | {c.in_tokens:.0f}/{c.out_tokens:.0f} | {d['predictions']:.0f} | "
            f"{d['searches']:.0f}/{d['scrapes']:.0f} | {c.images} |"
        )
    costs = {p: cost(c) for p, c in counts.items()}
    lines += [
        "",
        "## Cost of one run (USD)",
        "",
        "| component | " + " | ".join(PRESETS) + " |",
        "|---|" + "---:|" * len(PRESETS),
    ]
    for comp in next(iter(costs.values())):
        lines.append(f"| {comp} | " + " | ".join(f"{costs[p][comp]:.5f}" for p in PRESETS) + " |")
    totals = {p: sum(v.values()) for p, v in costs.items()}
    lines.append("| **total** | " + " | ".join(f"**{totals[p]:.4f}**" for p in PRESETS) + " |")
    gpu = PRICES["gpu_hour"][0]
    lines += [
        "",
        f"GPU keyframes (`image_provider=batch`, g5.xlarge at ${gpu}/h): ${gpu / 3600:.5f} per GPU-second; the "
        "seconds per frame are not measured (no GPU has been lent to this project yet: bench/results/"
        "gpu_sdxl_smoke.md is a CPU smoke run), so no per-run GPU cost is given.",
    ]
    q = quotas(cfg)
    binding: dict[str, dict[int, str]] = {}
    lines += ["", "## Which limit binds (share of each limit one rate uses; > 100 % binds)", ""]
    for p in PRESETS:
        d = demand(counts[p], args.api_calls_per_run)
        lines += [
            f"### {p}",
            "",
            "| limit | per run | " + " | ".join(f"{r:,}/h" for r in RATES) + " | runs/h it allows |",
            "|---|---:|" + "---:|" * (len(RATES) + 1),
        ]
        rows = []
        for name, (per_hour, unit) in q.items():
            need = d.get(unit, 0.0)
            allows = per_hour / need if need else math.inf
            rows.append((allows, name, need, unit))
        rows.sort()
        for allows, name, need, unit in rows:
            shares = " | ".join(f"{100 * r / allows:.1f} %" if allows != math.inf else "—" for r in RATES)
            lines.append(
                f"| {name} | {need:.1f} {unit} | {shares} | {allows:,.0f} |"
                if allows != math.inf
                else f"| {name} | 0 | {shares} | unbounded |"
            )
        first = rows[0]
        binding[p] = {r: next((n for a, n, _, _ in rows if r > a), "none") for r in RATES}
        lines += ["", f"First to bind for {p}: **{first[1]}** at {first[0]:,.0f} runs/h.", ""]
    lines += ["## Sources", ""] + [f"- {k}: {v[0]:g} USD — {v[1]}" for k, v in PRICES.items()]
    lines += [f"- quota {k}: {v}" for k, v in QUOTAS_SOURCES.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "prices_read": PRICES_READ,
                "runs": {
                    p: {
                        "status": c.status,
                        "executions": c.executions,
                        "transitions": c.transitions,
                        "lambdas": dict(c.lambdas),
                        "aws": dict(c.aws),
                        "vendor": dict(c.vendor),
                        "tokens_in": c.in_tokens,
                        "tokens_out": c.out_tokens,
                        "images": c.images,
                        "cost_usd": costs[p],
                        "total_usd": totals[p],
                        "binds_at": binding[p],
                    }
                    for p, c in counts.items()
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
