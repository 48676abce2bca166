"""GPU worker: render a run's keyframes with diffusers SDXL in one process (an AWS Batch job, ECS task, or a
local GPU box).

    python -m storyreel.services.images.gpu.worker --run-id RUN [--frames all|now|s1-start,s1-end,...]
                                         [--bucket B | --blob-dir DIR] [--config FILE]

Every option can come from the environment instead (AWS Batch passes container environment or
`Ref::parameters` in the command): STORYREEL_RUN_ID, STORYREEL_FRAMES, STORYREEL_BUCKET (S3, keys under
runs/), STORYREEL_BLOB_DIR (a local directory), STORYREEL_CONFIG; settings also take STORYREEL_SECTION__KEY.

Frames render through `services.images.step.render`, a few scenes at a time (one batch of start frames,
then their end frames derived from them), so each finished frame's PNG and result JSON are stored as soon as
its batch lands. Only frames not yet rendered are taken (`step.outstanding`): a retry after an interruption
renders the rest. SIGTERM (a Spot interruption, `docker stop`) or SIGINT lets the current batch finish, then
the worker exits 143 so Batch's retry strategy can run it again.

STORYREEL_JOB=clips hands the job to the clips stage's worker (storyreel.services.clips.worker), and
STORYREEL_JOB=regenerate (a frame re-render asked for through the API) to storyreel.services.edit.worker.

Exit codes: 0 every requested frame rendered; 1 a provider failed for good; 2 bad input or configuration
(do not retry); 3 some frames failed (their result JSON says why); 75 a temporary failure, e.g. the model sync
from S3 (retry); 143 interrupted (retry).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.images.step import render
from storyreel.shared.contracts import RunRecord, RunStatus, ScenePlan, StageTiming
from storyreel.shared.errors import ConfigError, ProviderError, UserError
from storyreel.shared.ids import group_by_scene
from storyreel.shared.pipeline import SCENES, RunContext, frame_order, frames_now, outstanding
from storyreel.shared.registry import Providers
from storyreel.shared.settings import Settings, load_settings
from storyreel.shared.stores import BlobStore, LocalBlobStore, get_model

log = logging.getLogger("storyreel.images.worker")

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USER = 2
EXIT_FRAMES_FAILED = 3
EXIT_TEMPORARY = 75  # EX_TEMPFAIL
EXIT_INTERRUPTED = 128 + signal.SIGTERM  # 143, what a SIGTERM-killed process reports
# STORYREEL_JOB -> the module that runs such a job in this image
OTHER_JOBS = {"clips": "storyreel.services.clips.worker", "regenerate": "storyreel.services.edit.worker"}


class StopFlag:
    """Set by SIGTERM/SIGINT; the worker checks it between batches."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is None:
            log.warning(
                "%s received: finishing the current batch, then stopping", signal.Signals(signum).name
            )
        self.signal = signum


@contextmanager
def stop_on_signals(
    flag: StopFlag, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)
) -> Iterator[None]:
    previous = {sig: signal.signal(sig, flag) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------- inputs
def parse_frames(value: str | None, plan: ScenePlan, ctx: RunContext) -> list[str]:
    """`now` (default: the run's image budget), `all`, a comma list or a JSON list of frame ids."""
    order = frame_order(plan)
    text = (value or "").strip()
    if text in ("", "now"):
        return frames_now(ctx, plan)
    if text == "all":
        return order
    try:
        ids = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    except json.JSONDecodeError as exc:
        raise UserError(f"frames {text!r} is not a JSON list: {exc.msg}") from None
    if not isinstance(ids, list):
        raise UserError(f"frames {text!r}: expected a list of frame ids")
    unknown = [fid for fid in ids if fid not in order]
    if unknown:
        raise UserError(
            f"unknown frame id(s) {', '.join(map(str, unknown))}; this run has {', '.join(order)}"
        )
    wanted = set(ids)
    return [fid for fid in order if fid in wanted]


class NoState:
    """The worker's StateStore: it renders from and into the run's blobs and keeps no run record, policy or
    cache (the state machine's stages do). Reads of the cache miss, writes to it are dropped; the rest fails."""

    def _none(self, what: str) -> RuntimeError:
        return RuntimeError(f"the GPU worker keeps no run state ({what})")

    def create(self, record: RunRecord) -> None:
        raise self._none("create")

    def get(self, run_id: str) -> RunRecord:
        raise self._none("get")

    def save(self, record: RunRecord, *, expect_status: RunStatus | None = None) -> None:
        raise self._none("save")

    def record_stage(self, run_id: str, stage: str, timing: StageTiming) -> None:
        raise self._none("record_stage")

    def list(self, limit: int = 50) -> list[RunRecord]:
        raise self._none("list")

    def get_policy(self, name: str) -> tuple[dict[str, Any], int]:
        raise self._none("get_policy")

    def put_policy(self, name: str, state: dict[str, Any], expected_version: int) -> None:
        raise self._none("put_policy")

    def cache_get(self, key: str) -> dict[str, Any] | None:
        return None

    def cache_put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        return None


def make_blobs(bucket: str | None, blob_dir: str | None) -> BlobStore:
    if blob_dir:
        return LocalBlobStore(blob_dir)
    if bucket:
        try:
            from storyreel.shared.aws.stores import S3BlobStore
        except ImportError as exc:
            raise ConfigError(f"S3 blob store unavailable ({exc}); install storyreel[aws]") from exc
        return S3BlobStore(bucket, prefix="runs/")
    raise ConfigError("where are the run's files? give --bucket / STORYREEL_BUCKET or --blob-dir")


def worker_settings(config_file: str | None, environ: Mapping[str, str]) -> Settings:
    settings = load_settings(config_file=config_file, environ=environ)
    # In the cloud the run says `provider: batch` (render in this job); here that means diffusers.
    settings.image_generation.provider = "diffusers"
    return settings


# --------------------------------------------------------------------------- the work
def scene_chunks(frame_ids: list[str], scenes_per_chunk: int) -> list[list[str]]:
    """Frames grouped by scene, `scenes_per_chunk` scenes at a time, storyboard order kept."""
    scenes = group_by_scene(frame_ids)
    return [
        [fid for scene in scenes[i : i + scenes_per_chunk] for fid in scene]
        for i in range(0, len(scenes), scenes_per_chunk)
    ]


def run_frames(ctx: RunContext, requested: list[str], stop: StopFlag, plan: ScenePlan | None = None) -> int:
    plan = plan or get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    left = set(outstanding(ctx, plan))
    todo = [fid for fid in requested if fid in left]
    total = len(requested)
    done = total - len(todo)
    log.info(
        "run %s: %d frames requested, %d already rendered, %d to render", ctx.run_id, total, done, len(todo)
    )
    if not todo:
        return EXIT_OK
    provider = ctx.provider(IMAGE_PROVIDERS, ctx.settings.image_generation)
    ctx.providers.add(IMAGE_PROVIDERS, provider)  # one provider (and one loaded pipeline) for every batch
    failed = 0
    started = time.perf_counter()
    while todo:
        if stop.requested:
            log.warning(
                "run %s interrupted: %d/%d frames rendered, %d left for the retry",
                ctx.run_id,
                done,
                total,
                len(todo),
            )
            return EXIT_INTERRUPTED
        # max_batch may shrink after an out-of-memory error: re-read it for every chunk.
        per_chunk = getattr(provider, "max_batch", None) or ctx.settings.image_generation.max_batch
        chunk = scene_chunks(todo, per_chunk)[0]
        results = render(ctx, chunk, plan=plan)  # scenes.json read once, not once per chunk
        ok = sum(1 for r in results if r.ok)
        done += ok
        failed += len(results) - ok
        todo = todo[len(chunk) :]
        log.info(
            "progress run=%s done=%d/%d failed=%d elapsed=%.1fs",
            ctx.run_id,
            done,
            total,
            failed,
            time.perf_counter() - started,
        )
    if failed:
        log.error("run %s: %d frame(s) failed; see frames/*.json", ctx.run_id, failed)
        return EXIT_FRAMES_FAILED
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="storyreel-gpu-worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--run-id", default=env("STORYREEL_RUN_ID"), help="run id (STORYREEL_RUN_ID)")
    p.add_argument(
        "--frames",
        default=env("STORYREEL_FRAMES", "now"),
        help="now | all | s1-start,s1-end,... | JSON list (STORYREEL_FRAMES)",
    )
    p.add_argument("--bucket", default=env("STORYREEL_BUCKET"), help="S3 bucket; keys under runs/")
    p.add_argument("--blob-dir", default=env("STORYREEL_BLOB_DIR"), help="local directory instead of S3")
    p.add_argument("--config", default=env("STORYREEL_CONFIG"), help="settings YAML")
    return p


def main(argv: Sequence[str] | None = None, *, providers: Providers | None = None) -> int:
    """The worker's entry point. `providers`: instances to render with instead of the settings' (the image
    provider of a bench or an in-process run)."""
    job = os.environ.get("STORYREEL_JOB")
    if job is not None and job in OTHER_JOBS and argv is None:
        # The clips branch's Batch job and the API's frame re-renders run in this image too: their own worker
        # takes them (a new process image, so the stages stay independent: neither imports the other).
        os.execvp(sys.executable, [sys.executable, "-m", OTHER_JOBS[job], *sys.argv[1:]])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout
    )
    args = build_parser().parse_args(argv)
    stop = StopFlag()
    with stop_on_signals(stop):
        try:
            if not args.run_id:
                raise ConfigError("no run id: pass --run-id or set STORYREEL_RUN_ID")
            ctx = RunContext(
                run_id=args.run_id,
                settings=worker_settings(args.config, os.environ),
                blobs=make_blobs(args.bucket, args.blob_dir),
                state=NoState(),
                progress=lambda stage, message: log.info("%s %s", stage, message),
                providers=providers.copy() if providers is not None else Providers(),
            )
            plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
            return run_frames(ctx, parse_frames(args.frames, plan, ctx), stop, plan)
        except UserError as exc:
            log.error("%s", exc)
            return EXIT_USER
        except ProviderError as exc:
            log.error("provider failed: %s", exc)
            return EXIT_TEMPORARY if exc.retryable else EXIT_PROVIDER


if __name__ == "__main__":
    sys.exit(main())
