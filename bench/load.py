"""make bench-load: many runs at once, with the vendors failing, and nothing lost.

Part 1, the cloud shape: RUNS uploads delivered at once to the intake Lambda, through the real state machine in
moto with the real handlers and the real vendor SDKs against fake vendors at the seed's latencies (scaled) with
injected 429s, 5xx and slow answers past the clients' timeouts (bench/cloudsim.py). One upload's event is
delivered five times at once. Every run must end succeeded, or failed with a reason; no run record lost or
duplicated; no frame written twice; each policy update counted once; the five deliveries start one run.
Then every succeeded run gets engagement feedback through the API handler, twice with growing numbers, at once
(the second replaces the first: the policy tracks each run once).

Part 2, `storyreel serve`: UPLOADS clients at once do POST /runs -> PUT the audio -> poll GET /runs/{id}
until it ends; no 5xx, every run completes, the server's peak resident memory (VmHWM) is reported.

    python bench/load.py [--quick] [--runs 50] [--uploads 20] [--out bench/results/load]

Loopback only; bounded in count and time (--deadline-s per part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import cloudsim as cs  # noqa: E402

BRIEF = (
    "We want a thirty second Instagram video about our small coffee roastery. Show the roaster drum in the "
    "morning light, the beans cooling, and people in the cafe. Warm and calm, acoustic guitar."
)
TIMEOUT_S = 2.0  # the clients' request timeout in this bench; a "slow" answer takes SLOW_S
SLOW_S = 3.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def _call(fn: Any, *args: Any) -> tuple[Any, str | None]:
    try:
        return fn(*args), None
    except Exception as exc:  # noqa: BLE001 (the bench reports every failure, it does not hide one)
        return None, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- part 1: moto
def failed_execution_causes(execs: list[dict[str, Any]]) -> Counter:
    """Each FAILED execution's error and cause (its ExecutionFailed event), or the failing task's."""
    causes: Counter = Counter()
    for e in execs:
        if e["status"] != "FAILED":
            continue
        events = cs.history(e["executionArn"])
        why = "no failure event"
        for ev in reversed(events):
            details = (
                ev.get("executionFailedEventDetails")
                or ev.get("taskFailedEventDetails")
                or ev.get("lambdaFunctionFailedEventDetails")
            )
            if details:
                why = f"{details.get('error', '?')}: {str(details.get('cause', ''))[:160]}"
                break
        causes[why] += 1
    return causes


def cloud_part(runs: int, deadline_s: float, faults: cs.Faults, scale: float) -> dict[str, Any]:
    import boto3
    from storyreel.services.optimizer import bandit
    from storyreel.services.optimizer.step import POLICY_NAME
    from storyreel.shared.aws.env import state as state_store

    import testkit.aws as kit

    audio = cs.speech(BRIEF)
    over = {
        "transcription": {"timeout_s": TIMEOUT_S},
        "llm": {"timeout_s": TIMEOUT_S},
        "image_generation": {"timeout_s": TIMEOUT_S * 3},
        "virality": {"request_timeout_s": TIMEOUT_S},
    }
    with cs.simulation(scale=scale, faults=faults) as sim:
        presets = ["full" if i % 2 == 0 else "quick" for i in range(runs)]
        keys = []
        for i, preset in enumerate(presets):
            key = f"uploads/load-{i:03d}.wav"
            cs.upload(key, sim.options(preset, **over), audio)
            keys.append(key)
        bad = (
            "uploads/load-not-audio.wav"  # a user's mistake: text named .wav; its run must fail with a reason
        )
        cs.upload(bad, sim.options("full", **over), b"this is a text file, not audio\n" * 64)
        keys.append(bad)
        deliveries = keys + [keys[0]] * 4  # the first upload's event, five times in all
        t0 = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda k: (k, *_call(cs.deliver, k)), deliveries))
        started = time.monotonic() - t0
        ids_by_key: dict[str, set[str]] = {}
        intake_errors = Counter()
        for key, out, err in answers:
            if err:
                intake_errors[err.split(":")[0]] += 1
                continue
            ids_by_key.setdefault(key, set()).add(out["run_id"])
        sqs = boto3.client("sqs", region_name=kit.REGION)
        renders: list[dict[str, Any]] = []
        while time.monotonic() - t0 < deadline_s:
            renders += cs.render_rest_pending()
            execs = cs.executions(sim.machine_arn)
            waiting = int(
                sqs.get_queue_attributes(QueueUrl=sim.queue, AttributeNames=["ApproximateNumberOfMessages"])[
                    "Attributes"
                ]["ApproximateNumberOfMessages"]
            )
            if execs and waiting == 0 and all(e["status"] != "RUNNING" for e in execs):
                break
            time.sleep(0.5)
        wall = time.monotonic() - t0
        execs = cs.executions(sim.machine_arn)
        by_status = Counter(e["status"] for e in execs)
        run_ids = sorted({i for ids in ids_by_key.values() for i in ids})
        store = state_store()
        records = {}
        for rid in run_ids:
            rec, err = _call(store.get, rid)
            if rec is not None:
                records[rid] = rec
        scan = boto3.client("dynamodb", region_name=kit.REGION).scan(
            TableName=kit.TABLE,
            FilterExpression="begins_with(pk, :p) AND sk = :s",
            ExpressionAttributeValues={":p": {"S": "RUN#"}, ":s": {"S": "RUN"}},
        )["Items"]
        status = Counter(r.status.value for r in records.values())
        causes = Counter(
            f"{r.error.stage}: {r.error.message[:90]}" if r.error else "failed without a reason"
            for r in records.values()
            if r.status.value == "failed"
        )
        to_board = []
        for e in execs:
            if e["name"] in records and e.get("stopDate"):
                to_board.append((e["stopDate"] - e["startDate"]).total_seconds())
        frames_twice = {
            k: n for k, n in sim.writes.items() if "/frames/" in k and k.endswith(".png") and n > 1
        }
        doc, version = store.get_policy(POLICY_NAME)
        learned_before = int(doc.get("updates", 0)) if doc else 0
        succeeded = [rid for rid, r in records.items() if r.status.value == "succeeded"]

        # the deliveries that lost the race, delivered again (Lambda's async retry): the same run, no new one
        again = [(k, *_call(cs.deliver, k)) for k, _, err in answers if err]
        redelivered_same = all(not err and out["run_id"] in ids_by_key.get(k, set()) for k, out, err in again)

        # feedback: the runs at once, each twice with growing numbers (views keep coming); the second replaces
        def engagement(views: int) -> dict[str, int]:
            return {"views": views, "likes": views // 20, "comments": views // 100, "shares": views // 200}

        last_reward: dict[str, float] = {}

        def send(rid: str) -> list[int]:
            codes = []
            for views in (1000, 5000):
                code, body = kit.call_api("POST", f"/runs/{rid}/feedback", engagement(views))
                codes.append(code)
                if code == 202:
                    last_reward[rid] = round(float(body["reward"]), 6)
            return codes

        with ThreadPoolExecutor(8) as pool:
            codes = Counter(c for pair in pool.map(send, succeeded) for c in pair)
        doc, version_after = store.get_policy(POLICY_NAME)
        working = bandit.load_state(doc)
        tracked = working.get("runs", {})
        entries = {rid: bandit.get_run(working, rid) or {} for rid in succeeded}
        real = [rid for rid in succeeded if entries[rid].get("k") == "real"]
        replaced = [rid for rid in real if entries[rid].get("r") == last_reward.get(rid)]
        return {
            "runs_uploaded": len(keys),
            "deliveries": len(deliveries),
            "intake_seconds": round(started, 2),
            "intake_errors": dict(intake_errors),
            "redelivered_after_the_race": len(again),
            "redelivered_got_the_same_run": redelivered_same,
            "duplicate_key_runs": len(ids_by_key.get(keys[0], set())),
            "duplicate_key_executions": sum(1 for e in execs if e["name"] in ids_by_key.get(keys[0], set())),
            "run_records": len(scan),
            "run_ids": len(run_ids),
            "lost": len(keys) - len(records),
            "not_audio_upload": records[next(iter(ids_by_key[bad]))].status.value
            if ids_by_key.get(bad)
            else "no run",
            "duplicated": len(scan) - len(run_ids),
            "status": dict(status),
            "failures_by_cause": dict(causes),
            "executions": dict(by_status),
            "failed_executions_by_cause": dict(failed_execution_causes(execs)),
            "render_rest_events": len(renders),
            "frames_written_twice": frames_twice,
            "s3_frame_puts": sum(n for k, n in sim.writes.items() if "/frames/" in k and k.endswith(".png")),
            "faults_injected": dict(sim.faults.injected),
            "vendor_requests": {
                "openai": len(sim.openai.requests),
                "replicate": len(sim.replicate.requests),
                "firecrawl": len(sim.firecrawl.requests),
            },
            "policy_updates_by_runs": learned_before,
            "policy_version_before_feedback": version,
            "runs_tracked_by_policy": len(tracked),
            "feedback_answers": {str(k): v for k, v in codes.items()},
            "feedback_runs_real": len(real),
            "feedback_runs_with_the_latest_reward": len(replaced),
            "policy_version_after_feedback": version_after,
            "policy_updates_after_feedback": int(doc.get("updates", 0)) if doc else 0,
            "time_to_storyboard_p50_s": pct(to_board, 0.5),
            "time_to_storyboard_p95_s": pct(to_board, 0.95),
            "wall_s": round(wall, 1),
            "finished_in_time": wall < deadline_s,
        }


# --------------------------------------------------------------------------- part 2: storyreel serve
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def serve_part(uploads: int, deadline_s: float) -> dict[str, Any]:
    import httpx

    exe = shutil.which("storyreel") or str(Path(sys.executable).with_name("storyreel"))
    audio = cs.speech(BRIEF)
    port = _free_port()
    home = tempfile.mkdtemp(prefix="storyreel-load-")
    env = {**os.environ, "STORYREEL_HOME": home}
    for k in [k for k in env if k.startswith("STORYREEL_") and "__" in k]:
        env.pop(k)
    proc = subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() - t0 > 30:
                    err = proc.stderr.read().decode()[-400:] if proc.stderr else ""
                    return {"error": f"storyreel serve did not start: {err.strip() or 'no output'}"}
                time.sleep(0.2)
        statuses: Counter = Counter()
        times: list[float] = []
        ends: Counter = Counter()

        def client(i: int) -> None:
            with httpx.Client(base_url=base, timeout=30.0) as c:
                t = time.monotonic()
                r = c.post("/runs", json={"filename": f"brief-{i}.wav"})
                statuses[r.status_code] += 1
                if r.status_code != 201:
                    ends[f"create {r.status_code}"] += 1
                    return
                body = r.json()
                up = body["upload"]
                while (
                    True
                ):  # a 429 (the workers are busy) is tried again after its Retry-After, as the app does
                    p = c.put(up["url"], content=audio, headers=up.get("headers", {}))
                    statuses[p.status_code] += 1
                    if p.status_code != 429 or time.monotonic() - t > deadline_s:
                        break
                    time.sleep(float(p.headers.get("Retry-After", "5")))
                rid = body["run_id"]
                while time.monotonic() - t < deadline_s:
                    g = c.get(f"/runs/{rid}")
                    statuses[g.status_code] += 1
                    st = g.json().get("run", {}).get("status") if g.status_code == 200 else None
                    if st in ("succeeded", "failed"):
                        ends[st] += 1
                        times.append(time.monotonic() - t)
                        return
                    time.sleep(0.25)
                ends["still running at the deadline"] += 1

        with ThreadPoolExecutor(uploads) as pool:
            list(pool.map(client, range(uploads)))
        wall = time.monotonic() - t0
        return {
            "uploads": uploads,
            "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
            "five_xx": sum(v for k, v in statuses.items() if k >= 500),
            "ends": dict(ends),
            "time_to_done_p50_s": pct(times, 0.5),
            "time_to_done_p95_s": pct(times, 0.95),
            "peak_rss_mib": round((_hwm_kib(proc.pid) or 0) / 1024, 1),
            "wall_s": round(wall, 1),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(home, ignore_errors=True)


# --------------------------------------------------------------------------- report
def verdicts(cloud: dict[str, Any], serve: dict[str, Any] | None) -> list[tuple[str, bool]]:
    out = [
        (
            "every run ended succeeded or failed with a reason",
            cloud["finished_in_time"]
            and set(cloud["status"]) <= {"succeeded", "failed"}
            and "failed without a reason" not in cloud["failures_by_cause"],
        ),
        (
            "at least 90 % of the good uploads succeeded despite the faults",
            cloud["status"].get("succeeded", 0) >= 0.9 * (cloud["runs_uploaded"] - 1),
        ),
        ("no run record lost (lost = 0)", cloud["lost"] == 0),
        ("the upload that is not audio: its run failed with a reason", cloud["not_audio_upload"] == "failed"),
        ("no run record duplicated", cloud["duplicated"] == 0),
        ("no frame written twice", not cloud["frames_written_twice"]),
        (
            "one upload delivered five times started one run",
            cloud["duplicate_key_runs"] == 1 and cloud["duplicate_key_executions"] == 1,
        ),
        (
            "each policy update counted once (one entry per run, feedback replaced)",
            cloud["runs_tracked_by_policy"] <= cloud["run_ids"]
            and cloud["feedback_runs_with_the_latest_reward"] == cloud["status"].get("succeeded", 0)
            and cloud["policy_version_after_feedback"] - cloud["policy_version_before_feedback"]
            == cloud["feedback_answers"].get("202", 0),
        ),
    ]
    if serve is not None and "error" not in serve:
        out += [
            ("serve: no 5xx", serve["five_xx"] == 0),
            (
                "serve: every upload's run completed",
                sum(serve["ends"].get(k, 0) for k in ("succeeded", "failed")) == serve["uploads"],
            ),
        ]
    elif serve is not None:
        out.append((f"serve: {serve['error']}", False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 runs and 5 uploads")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--scale", type=float, default=0.05, help="vendor latencies: the seed's x this")
    ap.add_argument("--rate-429", type=float, default=0.05)
    ap.add_argument("--rate-5xx", type=float, default=0.03)
    ap.add_argument("--rate-slow", type=float, default=0.02)
    ap.add_argument("--deadline-s", type=float, default=900.0)
    ap.add_argument("--skip-serve", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "load"))
    args = ap.parse_args()
    if args.quick:
        args.runs, args.uploads = min(args.runs, 10), min(args.uploads, 5)
    faults = cs.Faults(
        rate_429=args.rate_429, rate_5xx=args.rate_5xx, rate_slow=args.rate_slow, slow_s=SLOW_S
    )
    cloud = cloud_part(args.runs, args.deadline_s, faults, args.scale)
    serve = None if args.skip_serve else serve_part(args.uploads, args.deadline_s)
    checks = verdicts(cloud, serve)
    lines = [
        "# Load (make bench-load)",
        "",
        f"- when: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; host: {platform.node()}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}",
        f"- command: `python bench/load.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- part 1: {args.runs} uploads (half full, half quick) + one that is not audio, delivered at once (+4 more deliveries of the "
        "first), the real state machine in moto, real handlers and vendor SDKs against fake vendors at the "
        f"seed's latencies x {args.scale}; faults per vendor request: 429 {args.rate_429:.0%}, 5xx "
        f"{args.rate_5xx:.0%}, slow ({SLOW_S:g} s against a {TIMEOUT_S:g} s client timeout) {args.rate_slow:.0%}",
        "- moto runs every execution in one process and one Lambda at a time: the times below are this "
        "machine's, not AWS's; the end states and counts are what is checked",
        "",
        "| check | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {'yes' if ok else '**NO**'} |" for name, ok in checks]
    lines += ["", "## Part 1: the state machine in moto", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {json.dumps(v) if isinstance(v, dict) else v} |" for k, v in cloud.items()]
    if serve is not None:
        lines += ["", "## Part 2: storyreel serve", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {json.dumps(v) if isinstance(v, dict) else v} |" for k, v in serve.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps({"cloud": cloud, "serve": serve, "checks": dict(checks)}, indent=2, default=str)
    )
    sys.exit(0 if all(ok for _, ok in checks) else 1)


if __name__ == "__main__":
    main()
