"""GPU clips worker: every scene's clip of a run with the diffusers provider (Wan FLF2V), in one process (the
AWS Batch job of the clips branch, or a local GPU box).

    python -m storyreel.services.clips.worker --run-id RUN [--scenes 1,3] [--bucket B | --blob-dir DIR]

The GPU image's entry point is the images worker; it hands a job with STORYREEL_JOB=clips to this module (the
stages stay independent: one image, two jobs). Exit codes: 0 every clip made; 2 bad input or configuration;
3 some clips failed (clips/s{n}.json says why).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from storyreel.services.clips import step as clips_step
from storyreel.shared.contracts import ClipStatus
from storyreel.shared.errors import UserError
from storyreel.shared.pipeline import RunContext
from storyreel.shared.registry import Providers
from storyreel.shared.settings import load_settings
from storyreel.shared.stores import BlobStore, LocalBlobStore

log = logging.getLogger("storyreel.clips.worker")
EXIT_OK, EXIT_USER, EXIT_CLIPS_FAILED = 0, 2, 3


class NoState:
    """The clips need no run state: only their blobs (the state machine's stages keep the record)."""

    def cache_get(self, key: str) -> dict[str, Any] | None:
        return None

    def cache_put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the clips worker keeps no run state ({name})")


def make_blobs(bucket: str | None, blob_dir: str | None) -> BlobStore:
    if blob_dir:
        return LocalBlobStore(blob_dir)
    if bucket:
        from storyreel.shared.aws.stores import S3BlobStore

        return S3BlobStore(bucket, prefix="runs/")
    raise UserError("where are the run's files? give --bucket / STORYREEL_BUCKET or --blob-dir")


def parse_scenes(text: str | None) -> list[int] | None:
    if not text or text.strip() == "all":
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"scenes {text!r}: expected all or a comma list of scene numbers") from None


def main(argv: Sequence[str] | None = None, *, providers: Providers | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    env = os.environ.get
    p = argparse.ArgumentParser(prog="storyreel-clips-worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--run-id", default=env("STORYREEL_RUN_ID"))
    p.add_argument("--scenes", default=env("STORYREEL_SCENES", "all"))
    p.add_argument("--bucket", default=env("STORYREEL_BUCKET"))
    p.add_argument("--blob-dir", default=env("STORYREEL_BLOB_DIR"))
    p.add_argument("--config", default=env("STORYREEL_CONFIG"))
    args, _ = p.parse_known_args(argv)  # the images worker's own CMD (--frames now) may come along
    try:
        if not args.run_id:
            raise UserError("no run id: pass --run-id or set STORYREEL_RUN_ID")
        settings = load_settings(config_file=args.config, environ=os.environ)
        settings.clips.provider = "diffusers"  # the run says batch: make them here
        ctx = RunContext(
            run_id=args.run_id,
            settings=settings,
            blobs=make_blobs(args.bucket, args.blob_dir),
            state=NoState(),
            progress=lambda stage, message: log.info("%s %s", stage, message),
            providers=providers.copy() if providers is not None else Providers(),
        )
        clips = clips_step.generate(ctx, parse_scenes(args.scenes))
    except UserError as exc:
        log.error("%s", exc)
        return EXIT_USER
    failed = [c for c in clips if c.status != ClipStatus.done]
    for clip in failed:
        log.error("clip failed: %s", clip.reason)
    return EXIT_CLIPS_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
