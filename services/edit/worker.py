"""GPU re-render worker: one frame re-render a person asked for through the API (POST .../regenerate on
diffusers or batch), run as an AWS Batch job on the images stage's GPU queue.

    python -m storyreel.services.edit.worker --run-id RUN --frame s2-start

The GPU image's entry point is the images worker; it hands a job with STORYREEL_JOB=regenerate to this module
(services/edit/jobs.py submits them). Options can come from the environment instead: STORYREEL_RUN_ID,
STORYREEL_RENDER (the frame), STORYREEL_BUCKET and STORYREEL_TABLE (the run's files and record, as the stack's
job definition sets them). The render itself is services/edit/step.py `render_requested`: it claims the run's
revision like any edit, renders with diffusers, keeps the new version and makes it current; a failed render
leaves the current version in place and records why on the request (renders/<frame>.json).

Exit codes: 0 rendered; 2 bad input (no such request; do not retry); 3 the render failed (recorded);
75 the run stayed busy with another edit (Batch retries the job).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from storyreel.services.edit import step as edit_step
from storyreel.shared.contracts import RunRecord
from storyreel.shared.errors import StoryreelError, UserError
from storyreel.shared.pipeline import RunContext
from storyreel.shared.registry import Providers
from storyreel.shared.settings import Settings, load_settings
from storyreel.shared.stores import RevisionConflict, editing

log = logging.getLogger("storyreel.edit.worker")

EXIT_OK = 0
EXIT_USER = 2
EXIT_FAILED = 3
EXIT_TEMPORARY = 75  # EX_TEMPFAIL: Batch's retry strategy runs it again
CLAIM_TRIES = 12  # the run's other edits are short (a sketch re-render is the longest): about a minute in all
CLAIM_WAIT_S = 5.0
MODEL_ENV = "STORYREEL_IMAGE_GENERATION__MODEL"  # the job definition's model folder (s3://...)


def worker_settings(record: RunRecord, environ: Mapping[str, str]) -> Settings:
    """The run's own settings (as an edit through the API has them), rendering with diffusers on this GPU and
    the job definition's model."""
    options = dict(record.options)
    image = {**options.get("image_generation", {}), "provider": "diffusers"}
    if environ.get(MODEL_ENV):
        image["model"] = environ[MODEL_ENV]
    pipeline = {**options.get("pipeline", {}), "skip_image_generation": False, "limit_images": None}
    return load_settings(cli={**options, "image_generation": image, "pipeline": pipeline}, environ=environ)


def render(
    run_id: str,
    fid: str,
    *,
    stores: tuple[object, object] | None = None,
    providers: Providers | None = None,
    environ: Mapping[str, str] = os.environ,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Claim the run, render the request, release the claim. `stores`: (blobs, state) to use instead of the
    deployment's (S3 and DynamoDB from STORYREEL_BUCKET / STORYREEL_TABLE)."""
    if stores is None:
        from storyreel.shared.aws.env import Env, blobs, state

        env = Env.load()
        stores = (blobs(env), state(env))
    blob_store, store = stores
    for attempt in range(1, CLAIM_TRIES + 1):
        record: RunRecord = store.get(run_id)  # type: ignore[attr-defined]
        try:
            with editing(store, run_id, record.revision) as claimed:  # type: ignore[arg-type]
                ctx = RunContext(
                    run_id=run_id,
                    settings=worker_settings(claimed, environ),
                    blobs=blob_store,  # type: ignore[arg-type]
                    state=store,  # type: ignore[arg-type]
                    progress=lambda stage, message: log.info("%s %s", stage, message),
                    providers=providers.copy() if providers is not None else Providers(),
                )
                edit_step.render_requested(ctx, claimed, fid)
        except RevisionConflict as exc:  # another edit holds the run (or moved it on since it was read)
            log.warning("run %s busy (try %d/%d): %s", run_id, attempt, CLAIM_TRIES, exc)
            sleep(CLAIM_WAIT_S)
            continue
        except UserError as exc:
            log.error("%s", exc)
            return EXIT_USER
        except StoryreelError as exc:  # the render failed: render_requested recorded why on the request
            log.error("re-render failed: %s", exc)
            return EXIT_FAILED
        log.info("run %s: %s rendered, now revision %d", run_id, fid, claimed.revision)
        return EXIT_OK
    log.error("run %s stayed busy with other edits; the job is retried", run_id)
    return EXIT_TEMPORARY


def main(argv: Sequence[str] | None = None, *, providers: Providers | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout
    )
    env = os.environ.get
    p = argparse.ArgumentParser(prog="storyreel-edit-worker", description=__doc__.split("\n\n")[0])
    p.add_argument("--run-id", default=env("STORYREEL_RUN_ID"), help="run id (STORYREEL_RUN_ID)")
    p.add_argument("--frame", default=env("STORYREEL_RENDER"), help="the frame to render (STORYREEL_RENDER)")
    args = p.parse_args(argv)
    if not args.run_id or not args.frame:
        log.error("give --run-id and --frame (or STORYREEL_RUN_ID and STORYREEL_RENDER)")
        return EXIT_USER
    try:
        return render(args.run_id, args.frame, providers=providers)
    except StoryreelError as exc:  # the deployment's stores (STORYREEL_BUCKET / STORYREEL_TABLE missing)
        log.error("%s", exc)
        return EXIT_USER


if __name__ == "__main__":
    sys.exit(main())
