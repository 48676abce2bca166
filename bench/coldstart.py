"""Cold-start bench: per Lambda, its code asset size and its handler's import time in a fresh interpreter.

    python bench/coldstart.py [--repeats 7] [--quick] [--assets .lambda-assets] [--root CHECKOUT]

For every function in infra.functions.FUNCTIONS:
- asset: the size of `.lambda-assets/<group>/` (built by `make lambda-assets`), unzipped and zipped
  (Lambda limits: 250 MB unzipped, and zipped what `cdk deploy` uploads);
- import: `importlib.import_module(handler module)` + `getattr(handler)` timed inside a new interpreter per run
  (`--repeats` runs, median and fastest reported), with the environment the stack and the Lambda runtime set
  (lambda_env) and the checkout first on sys.path. The goal is <= 150 ms per handler. The runs go round-robin
  over the handlers and the baselines (one run of each per round, after one untimed round that writes the
  bytecode caches), so a burst of load from elsewhere on the machine is spread over all of them, not charged
  to one;
- first client: in the same interpreter, right after the import, `shared.aws.env.client("dynamodb")`: what
  every handler's first event pays before its own work (importing boto3, the X-Ray recorder and its patches,
  building a client). Work moved out of the import shows up here, not nowhere;
- as deployed: the import again, from a copy of the code asset as `make lambda-assets` ships it: `shared/`,
  `services/` and the group's own packages (the same distributions, from this venv) without bytecode caches,
  run with -B. The asset ships no `__pycache__` and /var/task is read-only, so on Lambda every cold start
  compiles them; Powertools and boto3 (the layer, the runtime) keep their caches here as they do there;
- dominated by: one more run under `python -X importtime`, self time summed per top-level package.

Handlers that are not on this branch yet are reported as "missing". Measured on this machine's CPython with
the dev venv's packages (the Lambda runs arm64/CPython 3.13 with the Powertools layer). The baselines are
third-party imports only, untouched by this repository's code: their ratio to the first run's (REFERENCE_MS,
9e9e787) says how fast this machine is against the one the goal was set on, and `scaled` is the import time
divided by that ratio. The goal is checked on both, side by side.
Writes bench/results/coldstart.md and .json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.bundle import copy_sources  # noqa: E402  (plain Python, no jsii)
from infra.config import InfraConfig  # noqa: E402
from infra.functions import ASSET_GROUPS, ASSET_PRUNE, FUNCTIONS, LAMBDA_BASE, SECRET_ENV, LambdaSpec  # noqa: E402

GOAL_MS = 150.0
RESULTS = ROOT / "bench" / "results"

# __import__, not importlib.import_module: the C import path, so `-X importtime` also lists the handler's module.
_PROBE = """
import json, sys, time
sys.path.insert(0, {root!r})
sys.stderr.write("STORYREEL-PROBE-START" + chr(10))
sys.stderr.flush()
t0 = time.perf_counter()
module = __import__({module!r}, fromlist=[{function!r}])
handler = getattr(module, {function!r})
t1 = time.perf_counter()
assert callable(handler)
first_ms = None
if {first_use!r}:
    from storyreel.shared.aws.env import client
    t2 = time.perf_counter()
    client("dynamodb")
    first_ms = (time.perf_counter() - t2) * 1000
print(json.dumps({{"ms": (t1 - t0) * 1000, "first_ms": first_ms}}))
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
# The baselines as the first run of this bench measured them (bench/results/coldstart.json at 9e9e787, the
# machine the 150 ms goal was set on). Third-party code only: the same statements time the same libraries.
REFERENCE_MS = {
    "boto3 (Lambda runtime)": 87.9,
    "pydantic": 22.7,
    "Powertools Logger + Metrics": 20.3,
    "Powertools Tracer() (imports aws_xray_sdk, patches)": 154.3,
    "Powertools APIGatewayRestResolver": 51.1,
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


class _Context:
    """cdk.json's context, read the way InfraConfig.from_context reads a CDK node's."""

    def __init__(self, context: dict) -> None:
        self.context = context

    def try_get_context(self, key: str) -> object:
        return self.context.get(key)


def lambda_env(spec: LambdaSpec) -> dict[str, str]:
    """What the stack sets on the function (infra/constructs/workflow.py; resource names are dummies) and what
    the Lambda runtime sets (python3.13, X-Ray active tracing, JSON logging), nothing from this shell."""
    cfg = InfraConfig.from_context(_Context(json.loads((ROOT / "cdk.json").read_text()).get("context", {})))
    name = f"storyreel-{spec.id}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        # the runtime
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",  # logging_format=JSON in the stack
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",  # the execution role's session (dummies)
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        # Set by the Lambda runtime itself. Libraries branch on them: the X-Ray SDK, for one, skips building
        # its centralized-sampling botocore client (about 120 ms of the recorder's init under cProfile here) when
        # LAMBDA_TASK_ROOT says it is in Lambda; Powertools' Tracer is disabled without it.
        "LAMBDA_TASK_ROOT": str(ROOT),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": spec.handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # tracing=ACTIVE
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        # the stack
        "STORYREEL_BUCKET": "storyreel-bench-bucket",
        "STORYREEL_TABLE": "storyreel-bench-table",
        "EVENT_BUS_NAME": "storyreel-bench-bus",
        "POWERTOOLS_SERVICE_NAME": spec.service,
        "POWERTOOLS_METRICS_NAMESPACE": cfg.metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **cfg.settings_env(),
    }
    if spec.starts_executions:  # Workflow.grant_start_execution adds it
        env["STATE_MACHINE_ARN"] = "arn:aws:states:us-east-1:123456789012:stateMachine:bench"
    for key in spec.secrets:
        env[SECRET_ENV[key]] = cfg.secret_name(key)
    if spec.secrets:  # as infra/constructs/workflow.py sets it
        env["STORYREEL_TRACE_HTTP"] = "1"
    return env


def handler_present(spec: LambdaSpec, root: Path = ROOT) -> str | None:
    """None when the handler module exists in the checkout, else why not."""
    path = root / Path(*spec.module.split(".")).with_suffix(".py")
    if not path.is_file():
        return f"missing ({path.relative_to(root)} not on this branch)"
    return None


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[dict | None, str]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def _handler_cmd(spec: LambdaSpec, root: Path, first_use: bool, flags: tuple[str, ...] = ()) -> list[str]:
    code = _PROBE.format(root=str(root), module=spec.module, function=spec.function, first_use=first_use)
    return [sys.executable, *flags, "-c", code]


def dominant_packages(spec: LambdaSpec, root: Path = ROOT, top: int = 4) -> list[tuple[str, float]]:
    """Self import time per top-level package while importing the handler (python -X importtime)."""
    proc = subprocess.run(
        _handler_cmd(spec, root, first_use=False, flags=("-X", "importtime")),
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


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions `names` need (their Requires-Dist, markers evaluated), as pip installs them."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in found:
            continue
        try:
            found[key] = dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for requirement in map(Requirement, dist.requires or ()):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def deployed_tree(group: str, root: Path, dest: Path) -> Path:
    """`dest`: the asset of `group` as `make lambda-assets` lays it out, minus bytecode: the sources of `root` and
    the group's distributions copied from this venv (native extensions for this machine, not arm64)."""
    copy_sources(dest, root)
    prune = ASSET_PRUNE.get(group, ())
    for dist in _closure((*LAMBDA_BASE, *ASSET_GROUPS[group])):
        for file in dist.files or ():
            rel = file.as_posix()
            if rel.startswith("..") or "__pycache__" in file.parts or rel.endswith(".pyc"):
                continue
            if any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in prune):
                continue
            src = Path(str(dist.locate_file(file)))
            if src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    return dest


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


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats; no as-deployed runs, no importtime breakdown"
    )
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
    root = args.root.resolve()

    specs = [*FUNCTIONS, *(LambdaSpec(f"extra:{h}", h, "api", "bench", "extra handler") for h in args.extra)]
    present = [s for s in specs if handler_present(s, root) is None]
    env = {s.id: lambda_env(s) for s in specs}
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        trees = {}
        if not args.quick:
            for group in dict.fromkeys(s.asset for s in present):
                trees[group] = deployed_tree(group, root, Path(tmp) / group)
        # Every measurement as (key, command, env, cwd); one run of each per round.
        jobs = []
        for s in present:
            jobs.append((("import", s.id), _handler_cmd(s, root, first_use=True), env[s.id], root))
            if s.asset in trees:
                tree = trees[s.asset]
                jobs.append((("deployed", s.id), _handler_cmd(s, tree, False, ("-B",)), env[s.id], tree))
        for name, stmt in BASELINES.items():
            code = _BASELINE_PROBE.format(statement=stmt)
            jobs.append((("baseline", name), [sys.executable, "-c", code], env[FUNCTIONS[0].id], root))
        samples: dict[tuple[str, str], list[dict]] = defaultdict(list)
        errors: dict[tuple[str, str], str] = {}
        for round_no in range(repeats + 1):  # round 0 writes the bytecode caches, untimed
            for key, cmd, job_env, cwd in jobs if round_no % 2 else reversed(jobs):
                if key in errors or (not round_no and key[0] == "deployed"):  # nothing to cache there
                    continue
                result, error = _run(cmd, job_env, cwd)
                if result is None:
                    errors[key] = error
                elif round_no:
                    samples[key].append(result)
            print(f"round {round_no}/{repeats} done", file=sys.stderr, flush=True)

    baselines = {name: _median([r["ms"] for r in samples[("baseline", name)]]) for name in BASELINES}
    ratios = [baselines[n] / REFERENCE_MS[n] for n in BASELINES if baselines[n]]
    speed = round(statistics.geometric_mean(ratios), 2) if ratios else None

    sizes: dict[str, tuple[float, float] | None] = {}
    rows = []
    for spec in specs:
        if spec.asset not in sizes:
            sizes[spec.asset] = asset_size(args.assets / spec.asset)
        size = sizes[spec.asset]
        row: dict[str, object] = {
            "function": spec.id,
            "handler": spec.handler,
            "asset": spec.asset,
            "asset_mb": round(size[0], 1) if size else None,
            "asset_zip_mb": round(size[1], 1) if size else None,
        }
        missing = handler_present(spec, root)
        runs = samples[("import", spec.id)]
        error = errors.get(("import", spec.id))
        if missing or error:
            row |= {"status": missing or f"import failed: {error}", "import_ms": None, "goal_met": None}
            row |= {"runs_ms": [round(r["ms"], 1) for r in runs], "dominated_by": []}
        else:
            median = _median([r["ms"] for r in runs])
            scaled = round(median / speed, 1) if speed else None
            deployed = samples[("deployed", spec.id)]
            deployed_error = errors.get(("deployed", spec.id))
            row |= {
                "status": "ok" if not deployed_error else f"as deployed: import failed: {deployed_error}",
                "import_ms": median,
                "import_min_ms": round(min(r["ms"] for r in runs), 1),
                "goal_met": median <= GOAL_MS,
                "scaled_ms": scaled,
                "goal_met_scaled": None if scaled is None else scaled <= GOAL_MS,
                "first_client_ms": _median([r["first_ms"] for r in runs if r["first_ms"] is not None]),
                "deployed_ms": _median([r["ms"] for r in deployed]),
                "runs_ms": [round(r["ms"], 1) for r in runs],
                "dominated_by": []
                if args.quick
                else [(p, round(ms, 1)) for p, ms in dominant_packages(spec, root)],
            }
        rows.append(row)

    meta = {
        "root": _shown(root),
        "commit": _commit(root),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": repeats,
        "goal_ms": GOAL_MS,
        "speed_vs_reference": speed,
        "assets_dir": _shown(args.assets),
    }
    print(_table(rows, meta))
    for name, ms in baselines.items():
        print(f"baseline  {name:<52} {_fmt(ms):>7} ms  (reference {REFERENCE_MS[name]:.1f})", flush=True)
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


def _goal(met: object) -> str:
    return "—" if met is None else ("met" if met else "NOT met")


def _table(rows: list[dict], meta: dict) -> str:
    head = (
        f"{'function':<11} {'import ms':>9} {'min':>7} {'goal':>8} {'scaled':>7} {'goal':>8} "
        f"{'1st client':>10} {'deployed':>9}  status"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['function']:<11} {_fmt(r['import_ms']):>9} {_fmt(r.get('import_min_ms')):>7} "
            f"{_goal(r['goal_met']):>8} {_fmt(r.get('scaled_ms')):>7} {_goal(r.get('goal_met_scaled')):>8} "
            f"{_fmt(r.get('first_client_ms')):>10} {_fmt(r.get('deployed_ms')):>9}  {r['status']}"
        )
    lines.append(
        f"goal <= {meta['goal_ms']:.0f} ms; scaled = import / {_fmt(meta['speed_vs_reference'], '.2f')} "
        "(this machine's baselines against the reference run's)"
    )
    return "\n".join(lines)


def _markdown(rows: list[dict], meta: dict, baselines: dict[str, float | None]) -> str:
    speed = _fmt(meta["speed_vs_reference"], ".2f")
    lines = [
        "# Lambda cold start: asset size and handler import time",
        "",
        f"`make bench-coldstart` — handlers of `{meta['root']}` at {meta['commit']}; "
        f"CPython {meta['python']} on {meta['machine']}; per handler {meta['repeats']} fresh interpreters, "
        "round-robin with the other handlers and the baselines, after an untimed round; the environment the stack "
        f"and the Lambda runtime set. Goal <= {meta['goal_ms']:.0f} ms per handler import. Asset sizes from "
        "`.lambda-assets/` (`make lambda-assets`: arm64 / CPython 3.13 wheels; Powertools comes from the "
        "managed layer and boto3 from the runtime, neither is counted).",
        "",
        f"This machine ran the third-party baselines {speed}x as long as the machine the goal was set on "
        "(geometric mean over the baselines below, against the first run's); `scaled` is the import divided by "
        "that. `first client` is what the first event pays next, in the same interpreter: "
        '`shared.aws.env.client("dynamodb")` (boto3, the X-Ray recorder and its patches, a client). '
        "`as deployed` imports from a copy of the asset without bytecode caches, as Lambda gets it.",
        "",
        "| function | handler | asset MB (zip) | import ms (median / min) | goal | scaled ms | goal (scaled) "
        "| first client ms | as deployed ms | dominated by (self ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = "not built" if r["asset_mb"] is None else f"{r['asset_mb']:.1f} ({r['asset_zip_mb']:.1f})"
        dom = ", ".join(f"{p} {ms:.0f}" for p, ms in r["dominated_by"]) or "—"
        imp = f"{_fmt(r['import_ms'])} / {_fmt(r.get('import_min_ms'))}" if r["import_ms"] else r["status"]
        lines.append(
            f"| {r['function']} | `{r['handler']}` | {size} | {imp} | {_goal(r['goal_met'])} "
            f"| {_fmt(r.get('scaled_ms'))} | {_goal(r.get('goal_met_scaled'))} "
            f"| {_fmt(r.get('first_client_ms'))} | {_fmt(r.get('deployed_ms'))} | {dom} |"
        )
    lines += [
        "",
        "What any handler would pay for these alone (fresh interpreter, median; reference: the first run's):",
        "",
        "| import | ms | reference ms |",
        "|---|---|---|",
        *(f"| {name} | {_fmt(ms)} | {REFERENCE_MS[name]:.1f} |" for name, ms in baselines.items()),
        "",
        "Import time is measured on this machine with the dev venv's packages; the Lambda's arm64 CPU and "
        "Python 3.13 differ, so compare handlers with each other and against the goal, not with Lambda's "
        "reported Init Duration. The dev venv adds a little that Lambda does not have (the editable install's "
        "finder, pydantic's plugin lookup over every installed distribution). Heavy module-level imports (SDK "
        "clients, pydantic models of every stage) are the usual culprit: import them inside the code path that "
        "needs them, and read `first client` to see what the first event pays instead.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if importlib.util.find_spec("infra") is None:
        raise SystemExit("run from the repository root")
    raise SystemExit(main())
