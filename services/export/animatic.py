"""The animatic: each scene's keyframes (or its clip) for the scene's planned length, moving as its camera note
says, joined by its planned transitions, as one H.264 MP4, made by one ffmpeg filter graph.

Per scene (a shot): the start keyframe crossfades into the end keyframe over the middle third; the move
(moves.py: push in, pull out, pan, tilt) runs over the whole shot; a drawn transition (xfade) overlaps the next
shot by its length, so every scene still starts on its planned frame and the total is the sum of the scenes.
Stills are laid out on the frame once with Pillow (fitted over a blurred copy when the aspects differ), and
each is decoded once and repeated by the `loop` filter: no frame is drawn in Python.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps
from storyreel.services.export.moves import TRANSITION_S, XFADE, Kind, Move
from storyreel.shared.errors import ConfigError, ProviderError, UserError

SIZES: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
MOVE_AMOUNT = 0.15  # a move covers 15% of the frame: a zoom ends at 1.15x, a pan travels 15% of the width
COVER_LOSS = 0.15  # a still whose aspect is this close to the frame's is cropped to fill it, else fitted
PRESET = "veryfast"  # libx264; animatics are flat stills and moves, so faster presets lose little
CRF = 20
FFMPEG_TIMEOUT_S = 1800
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Shot:
    """One scene as the animatic shows it."""

    frames: int  # the scene's planned length in frames
    start: Path | None  # the start keyframe (a still)
    end: Path | None  # the end keyframe; None or the same file: the start alone
    move: Move = "static"
    transition: Kind = "cut"  # into the next shot (the last shot's: how the animatic ends)
    clip: Path | None = None  # a rendered clip of the scene: used instead of the stills, no move added


# --------------------------------------------------------------------------- ffmpeg
@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Debian's ffmpeg when it is on PATH, else the binary the imageio-ffmpeg wheel carries."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ConfigError(
            "ffmpeg not found: install Debian's ffmpeg or the imageio-ffmpeg wheel (pip install imageio-ffmpeg)"
        ) from None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@functools.lru_cache(maxsize=4)
def has_filter(name: str, exe: str | None = None) -> bool:
    """Whether this ffmpeg has filter `name` (subtitles needs libass)."""
    listing = subprocess.run(
        [exe or ffmpeg_exe(), "-hide_banner", "-filters"], capture_output=True, text=True, check=False
    ).stdout
    return any(line.split()[1:2] == [name] for line in listing.splitlines() if line.strip())


# --------------------------------------------------------------------------- stills
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_FILES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def compose(source: Path, size: tuple[int, int], dest: Path) -> Path:
    """`source` laid out on a `size` canvas: cropped to fill it when little is lost, else fitted whole over a
    blurred, darkened copy of itself. Written to `dest` as PNG."""
    width, height = size
    with Image.open(source) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    cover = max(width / image.width, height / image.height)
    lost = 1 - min(width / (image.width * cover), height / (image.height * cover))
    if lost <= COVER_LOSS:
        canvas = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    else:
        canvas = ImageOps.fit(image, size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(24))
        canvas = Image.blend(canvas, Image.new("RGB", size, "black"), 0.35)
        fitted = ImageOps.contain(image, size, Image.Resampling.LANCZOS)
        canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    canvas.save(dest, "PNG", compress_level=1)
    return dest


def card(text: str, size: tuple[int, int], dest: Path) -> Path:
    """A plain panel with `text` (a scene with no rendered keyframe), marked as such."""
    width, height = size
    image = Image.new("RGB", size, "#20242b")
    draw = ImageDraw.Draw(image)
    font = _font(max(12, width // 24))
    lines = _wrap(draw, text, font, int(width * 0.84))
    line_h = int(font.size * 1.3) if isinstance(font, ImageFont.FreeTypeFont) else 14
    y = (height - line_h * len(lines)) // 2
    for line in lines:
        draw.text((width // 2, y), line, font=font, fill="#e8e8e8", anchor="ma")
        y += line_h
    image.save(dest, "PNG", compress_level=1)
    return dest


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int
) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=font) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- the filter graph
def overlaps(shots: list[Shot], fps: int) -> list[int]:
    """Frames each shot overlaps the next by (its transition's length; 0 for a cut and for the last shot)."""
    out = []
    for i, shot in enumerate(shots):
        if i == len(shots) - 1 or shot.transition == "cut":
            out.append(0)
            continue
        limit = min(shot.frames, shots[i + 1].frames) // 2
        out.append(max(0, min(round(TRANSITION_S * fps), limit)))
    return out


def _move_filter(move: Move, frames: int, size: tuple[int, int]) -> str:
    """The filters that make `move` over a shot of `frames` frames at `size` (input: the frame size for
    zooms and static shots, MOVE_AMOUNT larger for pans and tilts)."""
    w, h = size
    p = f"min(n/{max(frames - 1, 1)},1)"
    a = MOVE_AMOUNT
    if move in ("push_in", "pull_out"):
        z = f"(1+{a}*{p})" if move == "push_in" else f"(1+{a}*(1-{p}))"
        return (
            f"scale=w='2*trunc({w}*{z}/2)':h='2*trunc({h}*{z}/2)':eval=frame,"
            f"crop={w}:{h}:'(in_w-{w})/2':'(in_h-{h})/2'"
        )
    where = {
        "pan_right": (f"(in_w-{w})*{p}", f"(in_h-{h})/2"),
        "pan_left": (f"(in_w-{w})*(1-{p})", f"(in_h-{h})/2"),
        "tilt_down": (f"(in_w-{w})/2", f"(in_h-{h})*{p}"),
        "tilt_up": (f"(in_w-{w})/2", f"(in_h-{h})*(1-{p})"),
    }
    if move in where:
        x, y = where[move]
        return f"crop={w}:{h}:'{x}':'{y}'"
    return "null"


def canvas_size(move: Move, size: tuple[int, int]) -> tuple[int, int]:
    """The size a shot's stills are laid out at: larger than the frame along a pan's or tilt's path."""
    w, h = size
    if move in ("pan_left", "pan_right"):
        return 2 * round(w * (1 + MOVE_AMOUNT) / 2), h
    if move in ("tilt_up", "tilt_down"):
        return w, 2 * round(h * (1 + MOVE_AMOUNT) / 2)
    return w, h


@dataclass
class Graph:
    inputs: list[list[str]]  # ffmpeg input arguments, one list per input
    filters: list[str]
    total: int  # frames


def build_graph(
    shots: list[Shot], fps: int, size: tuple[int, int], stills: list[tuple[Path | None, Path | None]]
) -> Graph:
    """The filter graph for `shots`; `stills[i]` are shot i's composed start and end images (None for a clip
    shot). The output pad is [vout]."""
    w, h = size
    over = overlaps(shots, fps)
    inputs: list[list[str]] = []
    filters: list[str] = []
    norm = f"settb=1/{fps},setpts=N,setsar=1"

    def add_still(path: Path, count: int, label: str) -> None:
        inputs.append(["-framerate", str(fps), "-i", str(path.resolve())])
        k = len(inputs) - 1
        filters.append(f"[{k}:v]format=yuv420p,loop=loop={count - 1}:size=1:start=0,{norm}[{label}]")

    for i, shot in enumerate(shots):
        length = shot.frames + over[i]
        if shot.clip is not None:
            inputs.append(["-i", str(shot.clip.resolve())])
            k = len(inputs) - 1
            filters.append(
                f"[{k}:v]fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},"
                f"format=yuv420p,tpad=stop_mode=clone:stop={length},trim=end_frame={length},{norm}[s{i}]"
            )
            continue
        start, end = stills[i]
        if start is None:
            raise ValueError(f"shot {i + 1} has neither a clip nor a still")
        move = _move_filter(shot.move, length, size)
        if end is None:
            add_still(start, length, f"a{i}")
            filters.append(f"[a{i}]{move},{norm}[s{i}]")
            continue
        fade = max(1, length // 3)
        first = (length - fade) // 2 + fade
        second = length - first + fade
        add_still(start, first, f"a{i}")
        add_still(end, second, f"b{i}")
        filters.append(
            f"[a{i}][b{i}]xfade=transition=fade:duration={fade / fps}:offset={(first - fade) / fps},"
            f"{move},{norm}[s{i}]"
        )
    at = shots[0].frames
    acc = "s0"
    for i in range(1, len(shots)):
        out = f"j{i}"
        kind = shots[i - 1].transition
        if over[i - 1] == 0:
            filters.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0,{norm}[{out}]")
        else:
            filters.append(
                f"[{acc}][s{i}]xfade=transition={XFADE[kind]}:duration={over[i - 1] / fps}:offset={at / fps},"
                f"{norm}[{out}]"
            )
        acc = out
        at += shots[i].frames
    total = sum(s.frames for s in shots)
    last = shots[-1]
    tail = f"trim=end_frame={total}"
    if last.transition != "cut":  # "fade to end card", "fade out": the last shot fades to black
        n = max(1, min(round(TRANSITION_S * fps), last.frames // 2))
        tail += f",fade=t=out:start_frame={total - n}:nb_frames={n}"
    filters.append(f"[{acc}]{tail},{norm}[vout]")
    return Graph(inputs, filters, total)


# --------------------------------------------------------------------------- render
def render(
    shots: list[Shot],
    dest: Path,
    *,
    fps: int,
    size: tuple[int, int],
    work: Path,
    audio: Path | None = None,
    burn: Path | None = None,
) -> int:
    """Encode the animatic of `shots` to `dest` (H.264, yuv420p, faststart; AAC when `audio` is given, trimmed
    or padded with silence to the animatic's length). `burn`: an SRT file drawn onto the frames. `work`: a
    folder for the composed stills. Returns the number of frames written."""
    if not shots:
        raise UserError("nothing to export: the storyboard has no scenes")
    exe = ffmpeg_exe()
    stills: list[tuple[Path | None, Path | None]] = []
    for i, shot in enumerate(shots):
        if shot.clip is not None:
            stills.append((None, None))
            continue
        if shot.start is None:
            raise ValueError(f"shot {i + 1} has neither a clip nor a still")
        canvas = canvas_size(shot.move, size)
        start = compose(shot.start, canvas, work / f"shot{i + 1}-start.png")
        end = None
        if shot.end is not None and shot.end != shot.start:
            end = compose(shot.end, canvas, work / f"shot{i + 1}-end.png")
        stills.append((start, end))
    graph = build_graph(shots, fps, size, stills)
    filters = list(graph.filters)
    if burn is not None:
        if not has_filter("subtitles", exe):
            raise ConfigError(
                f"this ffmpeg ({exe}) has no subtitles filter (it needs libass) to burn captions in: "
                "use --captions srt"
            )
        srt = work / "burn.srt"
        shutil.copyfile(burn, srt)
        style = f"FontName=DejaVu Sans,FontSize={16 if size[0] < size[1] else 20},Outline=2,MarginV=24"
        filters[-1] = filters[-1].replace("[vout]", "[vcap]")
        filters.append(f"[vcap]subtitles=burn.srt:force_style='{style}',format=yuv420p[vout]")
    args = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    for spec in graph.inputs:
        args += spec
    seconds = graph.total / fps
    if audio is not None:
        args += ["-i", str(audio.resolve())]
        filters.append(
            f"[{len(graph.inputs)}:a:0]aresample=48000,apad=whole_dur={seconds},atrim=end={seconds}[aout]"
        )
    args += ["-filter_complex", ";".join(filters), "-map", "[vout]"]
    if audio is not None:
        args += ["-map", "[aout]", "-c:a", "aac", "-b:a", "128k"]
    args += [
        "-frames:v",
        str(graph.total),
        "-r",
        str(fps),
        "-c:v",
        "libx264",
        "-preset",
        PRESET,
        "-crf",
        str(CRF),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        str(dest.resolve()),
    ]
    try:
        done = subprocess.run(
            args, cwd=work, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ProviderError(f"ffmpeg took over {FFMPEG_TIMEOUT_S} s encoding the animatic") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ProviderError(f"ffmpeg could not encode the animatic: {detail}")
    return graph.total
