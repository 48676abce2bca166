"""Cold-start bench: per Lambda, its code asset size and its handler's import time in a fresh interpreter.

    python bench/coldstart.py [--repeats 5] [--quick] [--assets .lambda-assets]

For every function in infra.functions.FUNCTIONS:
- asset: the size of `.lambda-assets/<group>/` (built by `make lambda-assets`), unzipped and zipped
  (Lambda limits: 250 MB unzipped, and zipped what `cdk deploy` uploads);
- import: `importlib.import_module(handler module)` + `getattr(handler)` timed inside a new interpreter
  (`--repeats` runs, median reported), with the Lambda's environment variables set and the repository
  root first on sys.path. The goal is <= 150 ms per handler;
- dominated by: one more run under `python -X importtime`, self time summed per top-level package.

Handlers that are not on this branch yet are reported as "missing". Measured on this machine's CPython
with the dev venv's packages (the Lambda runs arm64/CPython 3.13 with the Powertools layer), so read the
numbers as relative: which handler imports too much, and what.
Writes bench/results/coldstart.md and .json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.config import InfraConfig  # noqa: E402  (plain Python, no jsii)
from infra.functions import FUNCTIONS, SECRET_ENV, LambdaSpec  # noqa: E402

GOAL_MS = 150.0
RESULTS = ROOT / "bench" / "results"

_PROBE = """
import importlib, json, sys, time
sys.path.insert(0, {root!r})
sys.stderr.write("STORYREEL-PROBE-START" + chr(10))
sys.stderr.flush()
t0 = time.perf_counter()
module = importlib.import_module({module!r})
handler = getattr(module, {function!r})
t1 = time.perf_counter()
assert callable(handler)
print(json.dumps({{"ms": (t1 - t0) * 1000}}))
"""


# What every handler pays before its own code: each timed alone in a fresh interpreter, same environment.
BASELINES = {
    "boto3 (Lambda runtime)": "import boto3",
    "pydantic": "import pydantic",
    "Powertools Logger + Metrics": "from aws_lambda_powertools import Logger, Metrics",
    "Powertools Tracer() (imports aws_xray_sdk, patches)": (
        "from aws_lambda_powertools import Tracer\nTracer(service='bench')"
    ),
    "Powertools APIGatewayRestResolver": "from aws_lambda_powertools.event_handler import APIGatewayRestResolver",
}

_BASELINE_PROBE = """
import json, time
t0 = time.perf_counter()
{statement}
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1000}}))
"""


def _shown(path: Path) -> str:
    """A path as the results file shows it: relative to the repository, never this machine's absolute path."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix() or "."
    except ValueError:
        return Path(path).name


def time_statement(statement: str, env: dict[str, str], repeats: int) -> float | None:
    times = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", _BASELINE_PROBE.format(statement=statement)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return None
        times.append(json.loads(proc.stdout.strip().splitlines()[-1])["ms"])
    return statistics.median(times)


def lambda_env(spec: LambdaSpec) -> dict[str, str]:
    """What the stack sets on the function (dummy names), plus what the Lambda runtime sets."""
    cfg_context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    cfg = InfraConfig(settings=cfg_context.get("settings", {}))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"storyreel-{spec.id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        # Set by the Lambda runtime itself. Libraries branch on them: the X-Ray SDK, for one, skips building
        # its centralized-sampling botocore client (about 120 ms of the recorder's init under cProfile here) when
        # LAMBDA_TASK_ROOT says it is in Lambda.
        "LAMBDA_TASK_ROOT": str(ROOT),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/storyreel-{spec.id}",
        "_HANDLER": spec.handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "STORYREEL_BUCKET": "storyreel-bench-bucket",
        "STORYREEL_TABLE": "storyreel-bench-table",
        "EVENT_BUS_NAME": "storyreel-bench-bus",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
        "POWERTOOLS_SERVICE_NAME": spec.service,
        "POWERTOOLS_METRICS_NAMESPACE": "Storyreel",
        **cfg.settings_env(),
    }
    for key in spec.secrets:
        env[SECRET_ENV[key]] = f"storyreel/{key}"
    if spec.secrets:  # as infra/constructs/workflow.py sets it
        env["STORYREEL_TRACE_HTTP"] = "1"
    return env


def handler_present(spec: LambdaSpec, root: Path = ROOT) -> str | None:
    """None when the handler module exists in the checkout, else why not."""
    path = root / Path(*spec.module.split(".")).with_suffix(".py")
    if not path.is_file():
        return f"missing ({path.relative_to(root)} not on this branch)"
    return None


def time_import(spec: LambdaSpec, repeats: int, root: Path = ROOT) -> tuple[list[float], str | None]:
    code = _PROBE.format(root=str(root), module=spec.module, function=spec.function)
    times = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", code], env=lambda_env(spec), capture_output=True, text=True, cwd=root
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            return times, f"import failed: {last}"
        times.append(json.loads(proc.stdout.strip().splitlines()[-1])["ms"])
    return times, None


def dominant_packages(spec: LambdaSpec, root: Path = ROOT, top: int = 4) -> list[tuple[str, float]]:
    """Self import time per top-level package while importing the handler (python -X importtime)."""
    code = _PROBE.format(root=str(root), module=spec.module, function=spec.function)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=lambda_env(spec),
        capture_output=True,
        text=True,
        cwd=root,
    )
    per_package: dict[str, float] = defaultdict(float)
    lines = proc.stderr.splitlines()
    if "STORYREEL-PROBE-START" not in lines:
        return []
    for line in lines[lines.index("STORYREEL-PROBE-START") + 1 :]:
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        self_us, _cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if self_us.isdigit():
            per_package[name.split(".")[0]] += int(self_us) / 1000
    return sorted(per_package.items(), key=lambda kv: kv[1], reverse=True)[:top]


def asset_size(path: Path) -> tuple[float, float] | None:
    """(unzipped MB, zipped MB) of an asset directory, or None when it is not built."""
    if not path.is_dir():
        return None
    files = [f for f in path.rglob("*") if f.is_file()]
    raw = sum(f.stat().st_size for f in files)
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.relative_to(path).as_posix())
        zipped = tmp.tell()
    return raw / 1e6, zipped / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats, no importtime breakdown")
    parser.add_argument("--assets", type=Path, default=ROOT / ".lambda-assets")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="checkout whose handlers are imported (default: this one)"
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="MODULE.FUNCTION",
        help="also time this handler (e.g. a module not in the stack yet); asset group 'api'",
    )
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    sizes: dict[str, tuple[float, float] | None] = {}
    rows = []
    extra = [LambdaSpec(f"extra:{h}", h, "api", "bench", "extra handler") for h in args.extra]
    for spec in (*FUNCTIONS, *extra):
        if spec.asset not in sizes:
            sizes[spec.asset] = asset_size(args.assets / spec.asset)
        row: dict[str, object] = {
            "function": spec.id,
            "handler": spec.handler,
            "asset": spec.asset,
            "asset_mb": sizes[spec.asset][0] if sizes[spec.asset] else None,
            "asset_zip_mb": sizes[spec.asset][1] if sizes[spec.asset] else None,
        }
        missing = handler_present(spec, args.root)
        if missing:
            row |= {"status": missing, "import_ms": None, "runs_ms": [], "dominated_by": []}
        else:
            times, error = time_import(spec, repeats, args.root)
            if error:
                row |= {"status": error, "import_ms": None, "runs_ms": times, "dominated_by": []}
            else:
                median = statistics.median(times)
                row |= {
                    "status": "ok" if median <= GOAL_MS else f"over {GOAL_MS:.0f} ms",
                    "import_ms": round(median, 1),
                    "runs_ms": [round(t, 1) for t in times],
                    "dominated_by": []
                    if args.quick
                    else [(p, round(ms, 1)) for p, ms in dominant_packages(spec, args.root)],
                }
        rows.append(row)
        print(_line(row), flush=True)

    baselines = {
        name: (
            None if (ms := time_statement(stmt, lambda_env(FUNCTIONS[0]), repeats)) is None else round(ms, 1)
        )
        for name, stmt in BASELINES.items()
    }
    for name, ms in baselines.items():
        print(f"baseline  {name:<52} {_fmt(ms):>7} ms", flush=True)

    meta = {
        "root": _shown(args.root),
        "commit": _commit(args.root),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": repeats,
        "goal_ms": GOAL_MS,
        "assets_dir": _shown(args.assets),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "coldstart.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "baselines_ms": baselines}, indent=2) + "\n"
    )
    (args.out / "coldstart.md").write_text(_markdown(rows, meta, baselines))
    print(f"-> {args.out / 'coldstart.md'}")
    return 0


def _commit(root: Path) -> str:
    """Short commit of the measured checkout, '+dirty' when it has uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _fmt(value: object, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


def _line(row: dict) -> str:
    return (
        f"{row['function']:<11} asset {_fmt(row['asset_mb']):>6} MB ({_fmt(row['asset_zip_mb'])} zip)  "
        f"import {_fmt(row['import_ms']):>7} ms  {row['status']}"
    )


def _markdown(rows: list[dict], meta: dict, baselines: dict[str, float | None]) -> str:
    lines = [
        "# Lambda cold start: asset size and handler import time",
        "",
        f"`make bench-coldstart` — handlers of `{meta['root']}` at {meta['commit']}; "
        f"CPython {meta['python']} on {meta['machine']}, median of {meta['repeats']} "
        f"fresh interpreters; goal <= {meta['goal_ms']:.0f} ms per handler import. Asset sizes from "
        "`.lambda-assets/` (`make lambda-assets`: arm64 / CPython 3.13 wheels; Powertools comes from the "
        "managed layer and boto3 from the runtime, neither is counted).",
        "",
        "| function | handler | asset MB (zip) | import ms (median) | status | dominated by (self ms) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = "not built" if r["asset_mb"] is None else f"{r['asset_mb']:.1f} ({r['asset_zip_mb']:.1f})"
        dom = ", ".join(f"{p} {ms:.0f}" for p, ms in r["dominated_by"]) or "—"
        lines.append(
            f"| {r['function']} | `{r['handler']}` | {size} | {_fmt(r['import_ms'])} | {r['status']} | {dom} |"
        )
    lines += [
        "",
        "What any handler pays before its own code (each alone, fresh interpreter, median):",
        "",
        "| import | ms |",
        "|---|---|",
        *(f"| {name} | {_fmt(ms)} |" for name, ms in baselines.items()),
        "",
        "Import time is measured on this machine with the dev venv's packages; the Lambda's arm64 CPU and "
        "Python 3.13 differ, so compare handlers with each other and against the goal, not with Lambda's "
        "reported Init Duration. Heavy module-level imports (SDK clients, pydantic models of every stage) "
        "are the usual culprit: import them inside the code path that needs them.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if importlib.util.find_spec("infra") is None:
        raise SystemExit("run from the repository root")
    raise SystemExit(main())
