"""The local runner: the same stage steps the Lambdas run, in the plan's order, on the filesystem and SQLite.

    transcribe -> context -> choose -> ( scenes -> images )  ||  virality  -> optimizer -> finalize

Virality needs only the context and the chosen variant, so it runs in a thread beside scenes and images, off
the critical path. Every stage's timing lands in the run record as it finishes; a stage that raises marks
the run failed with its reason, and nothing half-written is left looking complete.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from storyreel.services.clips import step as clips_step
from storyreel.services.clips.providers import CLIP_PROVIDERS
from storyreel.services.finalize import step as finalize_step
from storyreel.services.finalize.step import finalize
from storyreel.services.finalize.storyboard import apply_board
from storyreel.services.images import step as images_step
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.optimizer import step as optimizer_step
from storyreel.services.scenes import step as scenes_step
from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.transcribe import step as transcribe_step
from storyreel.services.transcribe.audio import check_file_stat, check_input_file
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.services.transcribe.step import is_typed
from storyreel.services.virality import step as virality_step
from storyreel.services.virality.sources import EVIDENCE_SOURCES, ForumSetup
from storyreel.shared.contracts import Clip, ClipStatus, RunRecord, RunStatus, ScenePlan, StageTiming, utcnow
from storyreel.shared.errors import InputError, NotFoundError, StoryreelError, UserError, first_line
from storyreel.shared.ids import group_by_scene, new_run_id
from storyreel.shared.pipeline import SCENES, RunContext, StateStore, outstanding
from storyreel.shared.registry import Providers
from storyreel.shared.settings import Settings, max_audio_bytes
from storyreel.shared.stores import LocalBlobStore, SqliteStateStore, get_model, local_state

Progress = Callable[[str, str], None]
RUN_JSON = "run.json"  # a snapshot of the run record beside the outputs (status, timings, error)


class Interrupted(UserError):
    """The user stopped the run (Ctrl-C). CLI exit 130."""


class StageFailed(Exception):
    """A stage raised; `cause` is the original error (its type decides the exit code)."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"{stage} failed: {cause}")
        self.stage = stage
        self.cause = cause


class LocalRun:
    """One run's bookkeeping: the record, its stores, and a lock (virality reports from another thread)."""

    def __init__(self, ctx: RunContext, record: RunRecord, blobs: LocalBlobStore) -> None:
        self.ctx = ctx
        self.record = record
        self.blobs = blobs  # ctx.blobs as the local store it is (the input audio is linked into it)
        self._lock = threading.Lock()

    @property
    def state(self) -> StateStore:
        return self.ctx.state

    def save(self) -> None:
        with self._lock:
            self.state.save(self.record)
            self.ctx.blobs.put_bytes(
                self.ctx.key(RUN_JSON), self.record.model_dump_json(indent=2).encode(), "application/json"
            )

    def _set_stage(self, name: str, timing: StageTiming) -> None:
        with self._lock:
            self.record.stages = {**self.record.stages, name: timing}

    def skip(self, name: str, why: str) -> None:
        self._set_stage(name, StageTiming(status="skipped", seconds=0.0, detail=why))
        self.ctx.progress(name, f"skipped: {why}")
        self.save()

    @contextmanager
    def stage(self, name: str) -> Iterator[StageTiming]:
        timing = StageTiming(status="running", started_at=utcnow())
        self._set_stage(name, timing)
        self.ctx.progress(name, "running")
        self.save()
        t0 = time.perf_counter()
        try:
            yield timing
        except (Exception, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt):
                exc = Interrupted("interrupted (Ctrl-C)")
            timing.seconds = round(time.perf_counter() - t0, 3)
            timing.status = "failed"
            timing.detail = first_line(exc)
            self._set_stage(name, timing)
            self.ctx.progress(name, f"failed: {timing.detail}")
            raise StageFailed(name, exc) from exc
        timing.seconds = round(time.perf_counter() - t0, 3)
        if timing.status == "running":  # the body may have marked it failed without raising (all frames)
            timing.status = "succeeded"
        self._set_stage(name, timing)
        verb = "done" if timing.status == "succeeded" else timing.status
        self.ctx.progress(name, f"{verb} {timing.seconds:.2f}s {timing.detail}".rstrip())
        self.save()

    def fail(self, exc: StageFailed) -> None:
        cause = exc.cause
        kind = cause.kind if isinstance(cause, StoryreelError) else "internal"
        message = first_line(cause)
        with self._lock:
            finalize_step.mark_failed(self.record, exc.stage, message, kind)
        finalize_step.withdraw(self.ctx.blobs, self.ctx.run_id)
        if exc.stage == "transcribe" and isinstance(cause, InputError):
            for key in self.ctx.blobs.list(self.ctx.key("audio/")):  # a rejected input is not kept
                self.ctx.blobs.delete(key)
        self.save()


def _store_audio(blobs: LocalBlobStore, run_id: str, audio: Path, max_minutes: float) -> str:
    """The input, kept in the run under its own name (every message about it names the user's file): a hard
    link when input and output share a filesystem, else a copy that stops at the size bound. What is opened is
    checked again (fstat) before anything is read, so a file swapped for a FIFO or a device since start_run
    is refused here too; a refused or failed store leaves nothing behind."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", audio.name).lstrip(".") or "audio"
    key = f"{run_id}/audio/{safe}"
    dest = blobs.local_path(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer (fstat refuses it next)
        fd = os.open(audio, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"audio file cannot be read: {audio} ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        check_file_stat(audio, st, max_minutes)
        try:
            os.link(audio, dest)  # no copy of a long recording when input and output share a filesystem
            linked = os.lstat(dest)
            if (linked.st_dev, linked.st_ino) != (st.st_dev, st.st_ino):  # the path changed since the open
                raise OSError("the input was replaced while it was being linked")
        except OSError:
            dest.unlink(missing_ok=True)
            _copy_bounded(fd, audio, dest, max_audio_bytes(max_minutes), max_minutes)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return key


def _copy_bounded(fd: int, audio: Path, dest: Path, limit: int, max_minutes: float) -> None:
    """Copy from `fd` to a new `dest`, never more than `limit` bytes (the file may grow while it is read)."""
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        copied = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - copied)):
            copied += len(chunk)
            if copied > limit:  # it grew since it was measured: the bound holds all the same
                raise InputError(
                    f"{audio.name} grew past {limit / 1e6:,.1f} MB while it was copied, the most an audio "
                    f"file may take ({max_minutes:g} min: pipeline.max_audio_minutes)"
                )
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view) :]
    finally:
        os.close(out)


def start_run(
    audio: Path,
    settings: Settings,
    out_dir: Path,
    *,
    state: SqliteStateStore | None = None,
    providers: Providers | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    reference: bytes | None = None,
) -> LocalRun:
    """Create the run record (queued) and its output folder. An input that cannot be used as a file (missing,
    not a regular file, over the size bound) creates no run: it is refused by stat before anything reads it.
    `providers`: instances the run uses instead of building them from the settings (benchmarks, tests)."""
    audio = Path(audio)
    check_input_file(audio, settings.pipeline.max_audio_minutes)
    out_root = Path(out_dir).resolve()
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        probe = out_root / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to the output folder {out_dir} ({exc.strerror or exc})") from None
    state = state or local_state()
    run_id = run_id or new_run_id()
    blobs = LocalBlobStore(out_root)
    ctx = RunContext(run_id=run_id, settings=settings, blobs=blobs, state=state, providers=_own(providers))
    if progress is not None:
        ctx.progress = progress
    record = RunRecord(
        run_id=run_id,
        source=str(audio.resolve()),
        output_dir=str(out_root / run_id),
        options=settings.model_dump(mode="json"),
    )
    state.create(record)
    if reference is not None:  # the subject every frame shows (read_reference checked it)
        blobs.put_bytes(ctx.key(images_step.REFERENCE_KEY), reference, "image/png")
    return LocalRun(ctx, record, blobs)


def read_reference(path: Path) -> bytes:
    """The subject reference a user gave (--reference FILE) as PNG bytes; an InputError (one line) when it is
    missing, not a regular file, too big or not an image."""
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"reference image {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise InputError(f"reference image {path} is not a regular file")
    if st.st_size > images_step.MAX_REFERENCE_BYTES:
        raise InputError(f"reference image {path} is {st.st_size / 1e6:.1f} MB; the most is 20 MB")
    with path.open("rb") as fh:
        data = fh.read(images_step.MAX_REFERENCE_BYTES + 1)
    return images_step.reference_png(data, str(path))


def _own(providers: Providers | None) -> Providers:
    """The run's own copy of the caller's providers: preflight adds the ones it builds to it."""
    return providers.copy() if providers is not None else Providers()


class _Background:
    """A stage on a daemon thread: a failing main path never waits for it, and Ctrl-C never hangs on it."""

    def __init__(self, name: str, job: Callable[[], None]) -> None:
        self._done = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(job,), name=name, daemon=True)
        self._thread.start()

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread: result() re-raises it
            self.error = exc
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> None:
        while not self._done.wait(0.1):  # short waits, so Ctrl-C reaches the main thread at once
            pass
        if self.error is not None:
            raise self.error


def preflight(ctx: RunContext, *, typed: bool = False) -> None:
    """Build every provider the run will use before any work starts, so a missing key or an impossible
    provider is reported in a second, not after the transcription has run. The run then uses these.
    `typed`: the input is a typed brief (read, not recognised), so no transcriber is built."""
    s, given = ctx.settings, ctx.providers
    if not typed:
        given.add(TRANSCRIBERS, ctx.provider(TRANSCRIBERS, s.transcription))
    given.add(PLANNERS, ctx.provider(PLANNERS, s.llm))
    if s.image_budget(2 * s.pipeline.scenes) > 0 or s.pipeline.background_full_render:
        given.add(IMAGE_PROVIDERS, ctx.provider(IMAGE_PROVIDERS, s.image_generation))
    if s.pipeline.virality_evaluation:
        given.add(EVIDENCE_SOURCES, ctx.provider(EVIDENCE_SOURCES, ForumSetup(s.virality, ctx.state)))
    if s.clips.provider != "off":
        given.add(CLIP_PROVIDERS, ctx.provider(CLIP_PROVIDERS, s.clips))


def execute(run: LocalRun) -> RunRecord:
    """Run every stage. Raises StageFailed (after recording the failure) when a stage fails or the user
    interrupts the run."""
    ctx, settings = run.ctx, run.ctx.settings
    t_start = time.perf_counter()
    virality: _Background | None = None
    where = "setup"
    try:
        run.record.status = RunStatus.running
        run.save()
        with run.stage("setup") as t:
            preflight(ctx, typed=is_typed(run.record.source))
            t.detail = ", ".join(
                f"{kind}={getattr(provider, 'name', type(provider).__name__)}"
                for kind, provider in ctx.providers.named()
            )
        where = "transcribe"
        with run.stage("transcribe") as t:
            source = Path(run.record.source)
            audio_key = _store_audio(run.blobs, ctx.run_id, source, settings.pipeline.max_audio_minutes)
            transcript = transcribe_step.run(ctx, audio_key)
            t.detail = transcribe_step.describe(transcript)
            if transcript.audio_warning is not None:
                t.detail += f"; {transcript.audio_warning.message}"
        where = "context"
        with run.stage("context") as t:
            creative = scenes_step.context(ctx)
            t.detail = f"{len(creative.keywords)} keywords"
        where = "choose"
        with run.stage("choose") as t:
            decision = optimizer_step.choose(ctx)
            t.detail = ", ".join(f"{k}={v}" for k, v in decision.variant.items())

        def virality_job() -> None:
            with run.stage("virality") as t:
                report = virality_step.run(ctx)
                t.detail = "score " + (f"{report.score:.0f}" if report.score is not None else "n/a")

        virality = _Background("virality", virality_job)
        where = "scenes"
        with run.stage("scenes") as t:
            plan = scenes_step.scenes(ctx)
            t.detail = f"{len(plan.scenes)} scenes"
        where = "images"
        if not settings.images_enabled:
            run.skip("images", "skip_image_generation")
        else:
            with run.stage("images") as t:
                results = images_step.render(ctx)
                ok = sum(r.ok for r in results)
                left = 2 * len(plan.scenes) - len(results)
                t.detail = f"{ok}/{len(results)} frames" + (f", {left} pending" if left else "")
                failed = [r for r in results if not r.ok]
                if failed:
                    t.detail += f"; {len(failed)} failed: {failed[0].error}"
                    if not ok:
                        t.status = "failed"  # every frame failed; the run still completes with its prompts
        if settings.clips.provider != "off":
            where = "clips"
            with run.stage("clips") as t:
                t.detail = clips_detail(clips_step.generate(ctx))
        where = "virality"
        if not virality.done():
            # The storyboard is ready before the forum evidence: write it now (status running, a note says
            # virality is still coming) so the critical path ends here; it is refreshed when virality lands.
            finalize(ctx, run.record)
            run.record.ready_s = round(time.perf_counter() - t_start, 3)
            ctx.progress("finalize", "storyboard ready; waiting for virality")
        virality.result()  # re-raises a virality failure (as StageFailed)
        where = "optimizer"
        with run.stage("optimizer"):
            optimizer_step.learn(ctx)
        where = "finalize"
        with run.stage("finalize"):
            run.record.status = RunStatus.succeeded
            board = finalize(ctx, run.record)
            apply_board(run.record, board)
            if run.record.ready_s is None:
                run.record.ready_s = round(time.perf_counter() - t_start, 3)
    except StageFailed as exc:
        run.fail(exc)
        raise
    except KeyboardInterrupt:
        stopped = StageFailed(where, Interrupted("interrupted (Ctrl-C)"))
        run.fail(stopped)
        raise stopped from None
    run.save()
    return run.record


def run_pipeline(
    audio: Path,
    settings: Settings,
    out_dir: Path,
    *,
    state: SqliteStateStore | None = None,
    providers: Providers | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
) -> RunRecord:
    """Create a run and execute it; returns the final record (raises StageFailed if a stage failed)."""
    run = start_run(
        audio, settings, out_dir, state=state, providers=providers, progress=progress, run_id=run_id
    )
    return execute(run)


# --------------------------------------------------------------------------- frames after the run
def open_run(
    record: RunRecord,
    state: SqliteStateStore,
    *,
    settings: Settings | None = None,
    providers: Providers | None = None,
    progress: Progress | None = None,
) -> LocalRun:
    out_root = Path(record.output_dir).parent
    if not (out_root / record.run_id).is_dir():
        raise NotFoundError(f"the output folder of run {record.run_id} is gone: {record.output_dir}")
    settings = settings or Settings.model_validate(record.options)
    blobs = LocalBlobStore(out_root)
    ctx = RunContext(
        run_id=record.run_id,
        settings=settings,
        blobs=blobs,
        state=state,
        providers=_own(providers),
    )
    if progress is not None:
        ctx.progress = progress
    return LocalRun(ctx, record, blobs)


def clips_detail(clips: list[Clip]) -> str:
    done = sum(c.status == ClipStatus.done for c in clips)
    failed = [c for c in clips if c.status == ClipStatus.failed]
    return f"{done}/{len(clips)} clips" + (f"; {len(failed)} failed: {failed[0].reason}" if failed else "")


def make_clips(run: LocalRun, scenes: list[int] | None = None) -> list[Clip]:
    """Clips of a finished run (`scenes`: these only), then storyboard.json and index.html refreshed. A failed
    clip is recorded on its scene; a setting the model cannot make raises ConfigError before any is made."""
    t0 = time.perf_counter()
    clips = clips_step.generate(run.ctx, scenes)
    detail = clips_detail(clips)
    status = "failed" if clips and all(c.status == ClipStatus.failed for c in clips) else "succeeded"
    timing = StageTiming(status=status, seconds=round(time.perf_counter() - t0, 3), detail=detail)
    run.record.stages = {**run.record.stages, "clips_later": timing}
    apply_board(run.record, finalize(run.ctx, run.record))
    run.save()
    return clips


def outstanding_frames(run: LocalRun) -> list[str]:
    plan = get_model(run.ctx.blobs, run.ctx.key(SCENES), ScenePlan)
    return outstanding(run.ctx, plan)


def render_outstanding(
    run: LocalRun, frame_ids: list[str] | None = None, on_frame: Callable[[str, bool], None] | None = None
) -> tuple[int, int]:
    """Render frames a preview left pending (or that failed), one at a time in storyboard order, refreshing
    storyboard.json and index.html as each frame lands. Returns (rendered, failed)."""
    ids = outstanding_frames(run) if frame_ids is None else frame_ids
    ok = failed = 0
    first_error = ""
    t0 = time.perf_counter()
    # Render in scene pairs so each end frame can be derived from its (possibly just rendered) start frame.
    pairs = group_by_scene(ids)
    for n, group in enumerate(pairs, start=1):
        for res in images_step.render(run.ctx, group):
            ok += res.ok
            failed += not res.ok
            first_error = first_error or (res.error or "")
            if on_frame is not None:
                on_frame(res.frame_id, res.ok)
        last = n == len(pairs)
        detail = f"+{ok} frames later" + (f"; {failed} failed: {first_error}" if failed else "")
        status = ("failed" if failed else "succeeded") if last else "running"
        timing = StageTiming(status=status, seconds=round(time.perf_counter() - t0, 3), detail=detail)
        run.record.stages = {**run.record.stages, "images_later": timing}
        # one refresh per landed pair: storyboard.json and index.html show the frames as they are
        apply_board(run.record, finalize(run.ctx, run.record))
        run.save()
    return ok, failed
