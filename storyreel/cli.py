"""storyreel command line.

Exit codes: 0 ok; 1 a stage crashed (run marked failed); 2 a user error (bad input, bad config, unknown run),
always as one line on stderr with no traceback (STORYREEL_DEBUG=1 shows it).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click
from pydantic import ValidationError

from storyreel.shared.contracts import Engagement, RunRecord, RunStatus
from storyreel.shared.errors import NotFoundError, StoryreelError, UserError, first_line
from storyreel.shared.pipeline import INDEX_HTML, STORYBOARD
from storyreel.shared.settings import (
    PRESETS,
    ClipProviderName,
    ImageProviderName,
    LLMConfig,
    Settings,
    TranscriptionConfig,
    load_settings,
)
from storyreel.shared.stores import SqliteStateStore, local_state

if TYPE_CHECKING:
    from storyreel.runner import LocalRun

# The choices are the settings' own types, so a new provider needs no second list here.
TRANSCRIBERS = get_args(TranscriptionConfig.model_fields["provider"].annotation)
LLMS = get_args(LLMConfig.model_fields["provider"].annotation)

EXIT_STAGE_FAILED = 1
EXIT_USER = 2


def _fail(message: str, code: int) -> None:
    click.echo(f"storyreel: error: {message}", err=True)
    sys.exit(code)


EXIT_INTERRUPTED = 130

# A slim install (`pip install storyreel`) runs the whole local pipeline; a production provider's SDK comes
# with an extra, which its registry entry names (extra_of_module). The AWS runtime's modules are no provider's.
AWS_MODULES = ("boto3", "botocore", "aws_lambda_powertools")


def extra_of_module(module: str) -> str | None:
    """The pip extra that installs top-level `module`, or None when no extra does."""
    if module in AWS_MODULES:
        return "aws"
    from storyreel.services.images.providers import IMAGE_PROVIDERS
    from storyreel.services.scenes.providers import PLANNERS
    from storyreel.services.transcribe.providers import TRANSCRIBERS
    from storyreel.services.virality.sources import EVIDENCE_SOURCES

    for registry in (TRANSCRIBERS, PLANNERS, IMAGE_PROVIDERS, EVIDENCE_SOURCES):
        if extra := registry.extra_of(module):
            return extra
    return None


def _exit_for(exc: BaseException) -> tuple[str, int]:
    """The one line and the exit code for anything a command raised."""
    from storyreel.runner import Interrupted, StageFailed

    if isinstance(exc, StageFailed):
        message, code = _exit_for(exc.cause)
        if code == EXIT_STAGE_FAILED:
            message = f"stage {exc.stage} failed: {message}"
        return message, code
    if isinstance(exc, Interrupted | KeyboardInterrupt):
        return "interrupted (Ctrl-C)", EXIT_INTERRUPTED
    if isinstance(exc, UserError):
        return first_line(exc), EXIT_USER
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    extra = extra_of_module(missing.split(".")[0]) if missing else None
    if extra is not None:
        return (
            f"this needs the {missing!r} package, which storyreel's {extra!r} extra installs: "
            f"pip install 'storyreel[{extra}]'",
            EXIT_USER,
        )
    if isinstance(exc, StoryreelError):
        return first_line(exc), EXIT_STAGE_FAILED
    # Not ours (an OSError, a library's error): still one line, with its type, and exit 1.
    return (
        f"{type(exc).__name__}: {first_line(exc)} (STORYREEL_DEBUG=1 shows the traceback)",
        EXIT_STAGE_FAILED,
    )


def _click_line(exc: click.ClickException) -> str:
    """Click's own error (a bad option value, an unknown option, a missing argument) as one line, with where to
    look instead of click's three (Usage / Try / Error)."""
    message = first_line(click.ClickException(exc.format_message()))
    ctx = getattr(exc, "ctx", None)
    return f"{message} (see: {ctx.command_path} --help)" if ctx is not None else message


class _Group(click.Group):
    """Turns every error into one line on stderr and an exit code: 2 user error (click's usage errors too),
    1 crash, 130 Ctrl-C. STORYREEL_DEBUG=1 lets the traceback through."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # click's standalone mode would print its errors over three lines; it is ours to report them
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # `storyreel` alone: the help, not an error line
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # UsageError and BadParameter exit 2, like every user error
            _fail(_click_line(exc), exc.exit_code)
        except click.exceptions.Abort:
            _fail("interrupted (Ctrl-C)", EXIT_INTERRUPTED)
        # returned: a command's result (None), or the code of a ctx.exit() (--help, --version)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if os.environ.get("STORYREEL_DEBUG"):
                raise
            message, code = _exit_for(exc)
            _fail(message, code)


def _state() -> SqliteStateStore:
    return local_state()


def _summary(record: RunRecord) -> dict[str, Any]:
    timings = {name: t.seconds for name, t in record.stages.items()}
    return {
        "run_id": record.run_id,
        "status": record.status.value,
        "output_dir": record.output_dir,
        "storyboard": str(Path(record.output_dir) / STORYBOARD),
        "index_html": str(Path(record.output_dir) / INDEX_HTML),
        "title": record.title,
        "frames": record.frames.model_dump(),
        "virality_score": record.virality_score,
        "variant": record.variant,
        "timings": timings,
        "ready_s": record.ready_s,
        "error": record.error.model_dump() if record.error else None,
    }


@click.group(cls=_Group)
@click.version_option(package_name="storyreel")
def cli() -> None:
    """Spoken video brief -> scored storyboard."""


# --------------------------------------------------------------------------- run
@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML config file.")
@click.option("--preset", type=click.Choice(list(PRESETS)), help="Speed tier (seed targets).")
@click.option("--skip-images", is_flag=True, default=None, help="Prompts only, no keyframe images.")
@click.option("--limit-images", type=click.IntRange(min=0), help="Render only the first N keyframes now.")
@click.option("--scenes", type=click.IntRange(3, 10), help="Number of scenes (3-10, default 5).")
@click.option("--virality/--no-virality", default=None, help="Forum evidence on/off (content score always).")
@click.option(
    "--background-render",
    is_flag=True,
    default=None,
    help="After a preview, keep rendering the pending frames.",
)
@click.option(
    "--transcriber",
    type=click.Choice(TRANSCRIBERS),
    help="auto (default): whisper when its model is here, else local (pocketsphinx).",
)
@click.option("--llm", type=click.Choice(LLMS))
@click.option(
    "--image-provider",
    type=click.Choice(get_args(ImageProviderName)),
)
@click.option("--model", help="Image model (e.g. bytedance/sdxl-lightning-4step, gpt-image-1, a local path).")
@click.option(
    "--clips",
    type=click.Choice(get_args(ClipProviderName)),
    help="Clips between each scene's keyframes (default off).",
)
@click.option("--clip-model", help="Clip model (e.g. minimax/hailuo-02, google/veo-3.1, a Wan FLF2V folder).")
@click.option(
    "--reference",
    help="The same subject in every shot: first-frame (the first keyframe conditions the others) or an image FILE.",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
def run(
    audio: Path,
    config_file: Path | None,
    preset: str | None,
    skip_images: bool | None,
    limit_images: int | None,
    scenes: int | None,
    virality: bool | None,
    background_render: bool | None,
    transcriber: str | None,
    llm: str | None,
    image_provider: str | None,
    model: str | None,
    clips: str | None,
    clip_model: str | None,
    reference: str | None,
    out_dir: Path,
    as_json: bool,
) -> None:
    """Turn a spoken brief (wav, mp3, m4a, flac, ogg, webm) or a typed one (txt, md, vtt, srt, json: read, not
    recognised, keeping times and speakers) into a storyboard."""
    from storyreel.progress import Progress
    from storyreel.runner import StageFailed, execute, render_outstanding, start_run

    overrides: dict[str, Any] = {}

    def put(section: str, key: str, value: Any) -> None:
        if value is not None:
            overrides.setdefault(section, {})[key] = value

    put("pipeline", "skip_image_generation", skip_images)
    put("pipeline", "limit_images", limit_images)
    put("pipeline", "scenes", scenes)
    put("pipeline", "virality_evaluation", virality)
    put("pipeline", "background_full_render", background_render)
    put("transcription", "provider", transcriber)
    put("llm", "provider", llm)
    put("image_generation", "provider", image_provider)
    put("image_generation", "model", model)
    put("clips", "provider", clips)
    put("clips", "model", clip_model)
    subject: bytes | None = None
    if reference == "first-frame":
        put("image_generation", "subject_reference", "first-frame")
    elif reference is not None:
        from storyreel.runner import read_reference

        subject = read_reference(Path(reference))  # checked before the run exists: a bad file creates none
        put("image_generation", "subject_reference", "given")
    if preset:
        overrides["preset"] = preset
    settings = load_settings(config_file, cli=overrides)
    state = _state()
    with Progress() as progress:
        local_run = start_run(audio, settings, out_dir, state=state, progress=progress, reference=subject)
        progress("run", f"{local_run.record.run_id} -> {local_run.record.output_dir}")
        try:
            record = execute(local_run)
        except StageFailed:
            if as_json:  # a script still gets the run id and the reason on stdout
                click.echo(json.dumps(_summary(local_run.record), indent=2))
            raise
    if as_json:
        click.echo(json.dumps(_summary(record), indent=2))
    else:
        _print_done(record)
    left = record.frames.pending + record.frames.skipped
    if settings.pipeline.background_full_render and left:
        click.echo(f"rendering {left} remaining keyframe(s) in the background of this command...", err=True)
        ok, failed = render_outstanding(
            local_run,
            on_frame=lambda fid, good: click.echo(f"  {fid} {'ok' if good else 'failed'}", err=True),
        )
        click.echo(f"background render done: {ok} rendered, {failed} failed", err=True)
    _exit_if_frames_failed(local_run.record)


def _exit_if_frames_failed(record: RunRecord) -> None:
    """A run whose keyframes failed completed (its prompts are good), but a script must notice: exit 1."""
    if not record.frames.failed:
        return
    details = [t.detail for n, t in record.stages.items() if n.startswith("images") and "failed:" in t.detail]
    reason = details[-1].split("failed: ", 1)[-1] if details else "see storyboard.json"
    _fail(
        f"{record.frames.failed} of {record.frames.total} keyframe(s) failed ({reason}); "
        f"retry them with: storyreel images {record.run_id}",
        EXIT_STAGE_FAILED,
    )


def _print_done(record: RunRecord) -> None:
    click.echo(f"run {record.run_id}: {record.status.value}")
    out = Path(record.output_dir)
    if (out / STORYBOARD).is_file():
        click.echo(f"storyboard: {out / 'storyboard.json'}")
        click.echo(f"page:       {out / 'index.html'}")
    else:
        click.echo(f"output:     {out} (no storyboard: the run {record.status.value})")
    f = record.frames
    click.echo(
        f"frames:     {f.rendered}/{f.total} rendered, {f.pending} pending, {f.failed} failed, "
        f"{f.skipped} skipped"
    )
    score = "n/a" if record.virality_score is None else f"{record.virality_score:.0f}/100"
    click.echo(f"virality:   {score}")


# --------------------------------------------------------------------------- images
@cli.command()
@click.argument("run_id", required=False)
@click.option("--from-latest", is_flag=True, help="Use the most recent successful run.")
@click.option("--image-provider", type=click.Choice([p for p in get_args(ImageProviderName) if p != "batch"]))
@click.option("--model")
@click.option("--json", "as_json", is_flag=True)
def images(
    run_id: str | None, from_latest: bool, image_provider: str | None, model: str | None, as_json: bool
) -> None:
    """Render the keyframes a run left out (pending from a preview, or failed)."""
    from storyreel.runner import open_run, outstanding_frames, render_outstanding

    state = _state()
    if bool(run_id) == from_latest:
        raise UserError("give a RUN_ID or --from-latest (one of them)")
    if run_id:  # then not from_latest (checked above)
        record = state.get(run_id)
        if record.status != RunStatus.succeeded:
            raise UserError(f"run {record.run_id} is {record.status.value}; only a successful run has frames")
    else:
        done = [r for r in state.list(limit=1000) if r.status == RunStatus.succeeded]
        if not done:
            raise NotFoundError("no successful run yet: run `storyreel run AUDIO` first")
        record = done[0]
    options = dict(record.options)
    image_opts = dict(options.get("image_generation", {}))
    if image_provider:
        image_opts["provider"] = image_provider
    if model:
        image_opts["model"] = model
    pipeline_opts = {**options.get("pipeline", {}), "skip_image_generation": False, "limit_images": None}
    settings = Settings.model_validate({**options, "image_generation": image_opts, "pipeline": pipeline_opts})
    local_run = open_run(record, state, settings=settings)
    todo = outstanding_frames(local_run)
    if not todo:
        click.echo(f"run {record.run_id}: every keyframe is already rendered", err=True)
    else:
        click.echo(f"run {record.run_id}: rendering {len(todo)} keyframe(s)", err=True)
        ok, failed = render_outstanding(
            local_run,
            todo,
            on_frame=lambda fid, good: click.echo(f"  {fid} {'ok' if good else 'failed'}", err=True),
        )
        click.echo(f"{ok} rendered, {failed} failed", err=True)
    if as_json:
        click.echo(json.dumps(_summary(local_run.record), indent=2))
    else:
        _print_done(local_run.record)
    _exit_if_frames_failed(local_run.record)


# --------------------------------------------------------------------------- clips
@cli.command()
@click.argument("run_id")
@click.option(
    "--scene", "scenes", type=click.IntRange(min=1), multiple=True, help="This scene only (repeatable)."
)
@click.option(
    "--clips",
    "provider",
    type=click.Choice([p for p in get_args(ClipProviderName) if p not in ("off", "batch")]),
)
@click.option("--clip-model", help="Clip model (e.g. minimax/hailuo-02, google/veo-3.1, a Wan FLF2V folder).")
@click.option("--json", "as_json", is_flag=True)
def clips(
    run_id: str, scenes: tuple[int, ...], provider: str | None, clip_model: str | None, as_json: bool
) -> None:
    """Make the clips of a finished run: the motion between each scene's start and end keyframe."""
    from storyreel.runner import make_clips, open_run

    state = _state()
    record = state.get(run_id)  # NotFoundError: unknown run
    if record.status != RunStatus.succeeded:
        raise UserError(f"run {record.run_id} is {record.status.value}; only a successful run has keyframes")
    options = dict(record.options)
    clip_opts = dict(options.get("clips", {}))
    if provider:
        clip_opts["provider"] = provider
    if clip_model:
        clip_opts["model"] = clip_model
    if clip_opts.get("provider", "off") in ("off", "batch"):
        raise UserError("choose a clip provider: --clips replicate or --clips diffusers")
    settings = Settings.model_validate({**options, "clips": clip_opts})
    local_run = open_run(record, state, settings=settings)
    made = make_clips(local_run, list(scenes) or None)
    for n, clip in zip(sorted(set(scenes)) or range(1, len(made) + 1), made, strict=True):
        line = f"  s{n} {clip.status.value}" + (f": {clip.reason}" if clip.reason else f" {clip.video_key}")
        click.echo(line, err=True)
    if as_json:
        click.echo(json.dumps([c.model_dump(mode="json") for c in made], indent=2))
    else:
        _print_done(local_run.record)
    failed = [c for c in made if c.status.value == "failed"]
    if failed:
        _fail(f"{len(failed)} of {len(made)} clip(s) failed ({failed[0].reason})", EXIT_STAGE_FAILED)


# --------------------------------------------------------------------------- runs / show
@cli.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def runs(limit: int, as_json: bool) -> None:
    """List recent runs (newest first)."""
    records = _state().list(limit=limit)
    if as_json:
        click.echo(json.dumps([_summary(r) for r in records], indent=2))
        return
    if not records:
        click.echo("no runs yet", err=True)
        return
    click.echo(f"{'RUN_ID':<22} {'STATUS':<10} {'FRAMES':<8} {'SCORE':<6} TITLE")
    for r in records:
        score = "-" if r.virality_score is None else f"{r.virality_score:.0f}"
        frames = f"{r.frames.rendered}/{r.frames.total}"
        title = r.title or (r.error.message if r.error else "")
        click.echo(f"{r.run_id:<22} {r.status.value:<10} {frames:<8} {score:<6} {title}")


@cli.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
def show(run_id: str, as_json: bool) -> None:
    """Show one run: status, stage timings, outputs, error."""
    record = _state().get(run_id)
    if as_json:
        click.echo(record.model_dump_json(indent=2))
        return
    _print_done(record)
    if record.error:
        click.echo(f"error:      [{record.error.stage}] {record.error.message}")
    click.echo("stages:")
    for name, t in record.stages.items():
        secs = "" if t.seconds is None else f"{t.seconds:7.2f}s"
        click.echo(f"  {name:<12} {t.status:<10} {secs:>9}  {t.detail}")
    if record.variant:
        click.echo("variant:    " + ", ".join(f"{k}={v}" for k, v in record.variant.items()))
    if record.feedback:
        fb = record.feedback
        click.echo(
            f"feedback:   {fb.views} views, {fb.likes} likes, {fb.comments} comments, {fb.shares} shares"
        )


# --------------------------------------------------------------------------- feedback / policy / doctor
@cli.command()
@click.argument("run_id")
@click.option("--views", type=click.IntRange(min=0), required=True)
@click.option("--likes", type=click.IntRange(min=0), default=0)
@click.option("--comments", type=click.IntRange(min=0), default=0)
@click.option("--shares", type=click.IntRange(min=0), default=0)
def feedback(run_id: str, views: int, likes: int, comments: int, shares: int) -> None:
    """Record real engagement for a run; the optimizer learns from it."""
    from storyreel.services.optimizer.step import feedback as record_feedback

    state = _state()
    record = state.get(run_id)
    if record.status != RunStatus.succeeded:
        raise UserError(f"run {run_id} is {record.status.value}; feedback needs a successful run")
    try:
        engagement = Engagement(views=views, likes=likes, comments=comments, shares=shares)
    except ValidationError as exc:
        raise UserError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    reward = record_feedback(
        state, run_id, engagement, Settings.model_validate(record.options).optimizer, record=record
    )
    click.echo(
        f"recorded engagement for {run_id}: {views} views, {likes} likes, {comments} comments, "
        f"{shares} shares -> reward {reward:.3f} (replaces the predicted reward for this run)"
    )


@cli.command()
@click.option("--config", "config_file", type=click.Path(path_type=Path))
def policy(config_file: Path | None) -> None:
    """Print the optimizer's current beliefs about each creative lever."""
    from storyreel.services.optimizer.policy import describe

    click.echo(describe(_state(), load_settings(config_file).optimizer))


@cli.command()
@click.option("--config", "config_file", type=click.Path(path_type=Path))
@click.option("--offline", is_flag=True, help="Only check configuration, make no network calls.")
def doctor(config_file: Path | None, offline: bool) -> None:
    """Which providers are configured, which keys are missing, a cheap live check of each."""
    from storyreel.doctor import format_checks, run_doctor

    settings = load_settings(config_file)
    checks = run_doctor(settings, os.environ, live=not offline)
    click.echo(format_checks(checks))
    if any(not c.ok for c in checks):  # a failed live check or a missing key of a provider in use
        sys.exit(EXIT_STAGE_FAILED)


# --------------------------------------------------------------------------- editing a finished run
def _editable(run_id: str, image_provider: str | None = None) -> LocalRun:
    """The finished run `run_id` from the run index, opened for editing; a UserError (one line) otherwise."""
    from storyreel.runner import open_run
    from storyreel.services.edit.step import check_editable

    state = _state()
    record = state.get(run_id)  # NotFoundError: unknown run
    check_editable(record)
    options = dict(record.options)
    image_opts = dict(options.get("image_generation", {}))
    if image_provider:
        image_opts["provider"] = image_provider
    pipeline_opts = {**options.get("pipeline", {}), "skip_image_generation": False, "limit_images": None}
    settings = Settings.model_validate({**options, "image_generation": image_opts, "pipeline": pipeline_opts})
    return open_run(record, state, settings=settings)


@contextmanager
def _editing(run_id: str, image_provider: str | None = None) -> Iterator[LocalRun]:
    """The finished run `run_id`, claimed for one edit at the revision just read (the API's check: an edit
    made by someone else meanwhile is a conflict, nothing written); the edit commits and bumps the revision."""
    from storyreel.shared.stores import editing

    local_run = _editable(run_id, image_provider)
    with editing(_state(), run_id, local_run.record.revision) as record:
        local_run.record = record
        yield local_run


def _saved(local_run: LocalRun, what: str) -> None:
    local_run.save()
    click.echo(f"run {local_run.record.run_id}: {what}; {Path(local_run.record.output_dir) / INDEX_HTML}")


@cli.command()
@click.argument("run_id")
@click.option("--scene", "index", type=int, required=True, help="The scene (1-based) to change.")
@click.option("--description")
@click.option("--title")
@click.option("--start-prompt")
@click.option("--end-prompt")
@click.option("--negative-prompt", help="Both frames' negative prompt.")
@click.option("--duration", type=float, help="Seconds.")
@click.option("--transition")
@click.option("--camera", help="The camera note.")
@click.option("--move-to", type=int, help="Move the scene to this position.")
@click.option("--insert", is_flag=True, help="Insert a new scene at --scene (needs --description).")
@click.option("--delete", is_flag=True, help="Delete the scene.")
@click.option("--lock/--unlock", default=None, help="Lock: re-planning keeps the scene and its frames.")
def edit(
    run_id: str,
    index: int,
    move_to: int | None,
    insert: bool,
    delete: bool,
    lock: bool | None,
    **fields: Any,
) -> None:
    """Edit a scene of a finished run: its text, length, position; insert, delete, lock."""
    from storyreel.services.edit.step import SceneEdit, edit_scene

    changes = {name: value for name, value in fields.items() if value is not None}
    what = SceneEdit(changes=changes, move_to=move_to, delete=delete, insert=insert, lock=lock)
    with _editing(run_id) as local_run:
        edit_scene(local_run.ctx, local_run.record, index, what)
    _saved(local_run, f"scene {index} edited")


@cli.command()
@click.argument("run_id")
@click.argument("frame_ids", nargs=-1, required=True)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Render with this seed.")
@click.option("--prompt", help="The new prompt of the named frames.")
@click.option("--with-end", is_flag=True, help="Re-derive each named start frame's end frame from it.")
@click.option("--image-provider", type=click.Choice([p for p in get_args(ImageProviderName) if p != "batch"]))
def regenerate(
    run_id: str,
    frame_ids: tuple[str, ...],
    seed: int | None,
    prompt: str | None,
    with_end: bool,
    image_provider: str | None,
) -> None:
    """Render frames again as new versions (the earlier ones are kept: storyreel versions)."""
    from storyreel.services.edit.step import regenerate as regenerate_frames
    from storyreel.shared.errors import ProviderError

    try:
        with _editing(run_id, image_provider) as local_run:
            regenerate_frames(
                local_run.ctx, local_run.record, list(frame_ids), seed=seed, prompt=prompt, with_end=with_end
            )
    except ProviderError:
        local_run.save()  # the frames that did render are saved; the failed ones kept their current version
        raise
    _saved(local_run, f"{', '.join(frame_ids)} rendered again")


@cli.command()
@click.argument("run_id")
@click.argument("frame_id")
@click.option("--json", "as_json", is_flag=True)
def versions(run_id: str, frame_id: str, as_json: bool) -> None:
    """List a frame's kept versions (* marks the current one)."""
    from storyreel.services.edit.step import versions as frame_versions

    local_run = _editable(run_id)
    current, kept = frame_versions(local_run.ctx, frame_id)
    if as_json:
        rows = [v.model_dump(mode="json") for v in kept]
        click.echo(json.dumps({"frame_id": frame_id, "current": current, "versions": rows}, indent=2))
        return
    if not kept:
        click.echo(f"{frame_id}: not rendered yet (no versions)")
    for v in kept:
        mark = "*" if v.version == current else " "
        where = v.image_key or v.error or ""
        click.echo(f"{mark} v{v.version}  {v.status.value:8}  seed {v.seed}  {v.provider or '-'}  {where}")
        click.echo(f"      {v.prompt}")


@cli.command()
@click.argument("run_id")
@click.argument("frame_id")
@click.argument("version", type=click.IntRange(min=1))
def use(run_id: str, frame_id: str, version: int) -> None:
    """Make a kept version of a frame its current one."""
    from storyreel.services.edit.step import use as use_version

    with _editing(run_id) as local_run:
        use_version(local_run.ctx, local_run.record, frame_id, version)
    _saved(local_run, f"{frame_id} now shows version {version}")


@cli.command()
@click.argument("run_id")
@click.option(
    "--transcript",
    "transcript_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A text file with the corrected transcript.",
)
def replan(run_id: str, transcript_file: Path | None) -> None:
    """Plan the context and scenes again (from a corrected transcript), keeping the locked scenes."""
    from storyreel.services.edit.step import replan as replan_run

    text = None
    if transcript_file is not None:
        try:
            text = transcript_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the transcript {transcript_file}: {exc}") from None
    with _editing(run_id) as local_run:
        board = replan_run(local_run.ctx, local_run.record, text)
    pending = board.frames.pending
    tail = f"; {pending} keyframe(s) to render: storyreel images {run_id}" if pending else ""
    _saved(local_run, f"re-planned, {len(board.scenes)} scenes" + tail)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port."
)
@click.option("--url", help="The URL browsers reach this server at (default: http://HOST:PORT).")
def serve(host: str, port: int, url: str | None) -> None:
    """Serve the REST API (the Lambda's own handler), uploads, run files and the web app on one port."""
    import signal

    from storyreel.serve import Server

    try:
        server = Server(host, port, url=url)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    click.echo(
        f"storyreel serve: {server.url} (API, /openapi.json, uploads, run files; Ctrl-C stops)", err=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("storyreel serve: stopped", err=True)


# --------------------------------------------------------------------------- exports
def _format_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    from storyreel.services.export.step import FORMATS

    if value is None:
        return None
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise click.BadParameter(f"{', '.join(unknown) or 'none given'}: choose from {','.join(FORMATS)}")
    return names


@cli.command()
@click.argument("run_id")
@click.option(
    "--format",
    "formats",
    callback=_format_list,
    help="Comma-separated: mp4,pdf,otio,otioz,fcpxml,edl (default: all).",
)
@click.option("--fps", type=click.Choice(["24", "25", "30"]), default="24", show_default=True)
@click.option("--aspect", type=click.Choice(["9:16", "16:9", "1:1"]), help="Default: the run's platform's.")
@click.option("--audio", type=click.Choice(["brief", "none"]), default="none", show_default=True)
@click.option("--captions", type=click.Choice(["burn", "srt", "none"]), default="srt", show_default=True)
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option("--size", type=click.Choice(["1080p", "720p", "360p"]), default="1080p", show_default=True)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Default: the run's exports/."
)
def export(
    run_id: str,
    formats: list[str] | None,
    fps: str,
    aspect: str | None,
    audio: str,
    captions: str,
    paper: str,
    size: str,
    out_dir: Path | None,
) -> None:
    """Export a finished run: animatic MP4, storyboard PDF, editor timelines (OTIO, OTIOZ, FCP7 XML, EDL)."""
    from storyreel.runner import open_run
    from storyreel.services.export.step import EXPORTS, ExportOptions, FolderDestination
    from storyreel.services.export.step import export as export_run

    state = _state()
    record = state.get(run_id)  # NotFoundError: unknown run
    if record.status != RunStatus.succeeded:
        raise UserError(
            f"run {run_id} is {record.status.value}; only a finished (succeeded) run can be exported"
        )
    local_run = open_run(record, state)
    fields: dict[str, Any] = {"fps": int(fps), "aspect": aspect, "audio": audio, "captions": captions}
    fields.update(paper=paper, size=size)
    if formats is not None:
        fields["formats"] = formats
    options = ExportOptions.model_validate(fields)
    dest = FolderDestination(out_dir) if out_dir is not None else None
    folder = out_dir if out_dir is not None else Path(record.output_dir) / EXPORTS
    result = export_run(local_run.ctx, options, dest)
    for name in result.written:
        if not name.startswith("media/"):
            click.echo(str(folder / name))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.refused:
        raise UserError("; ".join(f"{fmt}: {why}" for fmt, why in result.refused.items()))


def main() -> None:
    cli(prog_name="storyreel")


if __name__ == "__main__":
    main()
