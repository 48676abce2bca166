"""The animatic: each scene's keyframes (or its clip) for the scene's planned length, moving as its camera note
says, joined by its planned transitions, as one H.264 MP4.

Per scene (a shot): the start keyframe crossfades into the end keyframe over the middle third; the move
(moves.py: push in, pull out, pan, tilt) runs over the whole shot; a drawn transition overlaps the next shot by
its length, so every scene still starts on its planned frame and the total is the sum of the scenes.

How it is fast (bench/export.py): each still is laid out once at the output size plus the move's margin and
converted once to YUV 4:2:0 planes; every frame is then cut from those planes (a crop for a pan or a tilt, one
bilinear warp for a zoom, a blend for a crossfade or a transition; OpenCV, a few ms a 1080p frame) and piped
raw to one ffmpeg that only encodes (libx264 ultrafast with adaptive quantization, CRF 20). A scene's clip is
decoded by its own ffmpeg at the output size and frame rate (re-timed to the fps, its last frame held); a clip
that does not decode falls back to the scene's stills, and says so in `notes`.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps
from storyreel.services.export.moves import TRANSITION_S, Kind, Move
from storyreel.shared.errors import ConfigError, ProviderError, UserError

MOVE_AMOUNT = 0.15  # a move covers 15% of the frame: a zoom ends at 1.15x, a pan travels 15% of the width
COVER_LOSS = 0.15  # a still whose aspect is this close to the frame's is cropped to fill it, else fitted
# libx264: animatics are flat stills and slow moves. ultrafast is the only preset that keeps a 1080p export
# within a third of real time on 2 cores (bench/results/export.md); it turns adaptive quantization off, which
# bands flat gradients (the blurred backgrounds), so it is turned back on (it costs no measurable time).
PRESET = "ultrafast"
X264_PARAMS = "aq-mode=1"
CRF = 20
FFMPEG_TIMEOUT_S = 1800
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
BLACK = (16, 128, 128)


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


def _scaled(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` resized to `size` by OpenCV (area averaging down, bicubic up: Lanczos-like, 10x faster)."""
    shrink = size[0] < image.width
    how = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return Image.fromarray(cv2.resize(np.asarray(image), size, interpolation=how))


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` cropped to the aspect of `size` (centred) and scaled to fill it (ImageOps.fit)."""
    w, h = size
    cover = max(w / image.width, h / image.height)
    cw, ch = min(image.width, w / cover), min(image.height, h / cover)
    left, top = round((image.width - cw) / 2), round((image.height - ch) / 2)
    return _scaled(image.crop((left, top, left + round(cw), top + round(ch))), size)


def layout(source: Path, size: tuple[int, int]) -> Image.Image:
    """`source` laid out on a `size` canvas (RGB): cropped to fill it when little is lost, else fitted whole
    over a blurred, darkened copy of itself (blurred at an eighth of the size: the same look, far less work)."""
    width, height = size
    with Image.open(source) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    cover = max(width / image.width, height / image.height)
    lost = 1 - min(width / (image.width * cover), height / (image.height * cover))
    if lost <= COVER_LOSS:
        return _fit(image, size)
    small = (max(1, width // 8), max(1, height // 8))
    back = _fit(image, small).filter(ImageFilter.GaussianBlur(3))
    back = _scaled(Image.blend(back, Image.new("RGB", small, "black"), 0.35), size)
    contain = min(width / image.width, height / image.height)
    fitted = _scaled(image, (max(1, round(image.width * contain)), max(1, round(image.height * contain))))
    back.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    return back


def compose(source: Path, size: tuple[int, int], dest: Path) -> Path:
    """layout(source, size) written to `dest` as PNG."""
    layout(source, size).save(dest, "PNG", compress_level=1)
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


# --------------------------------------------------------------------------- frames as YUV 4:2:0 planes
Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Planes:
    """One picture as limited-range BT.601 Y'CbCr 4:2:0 (what the encoder takes): y at full size, u and v at
    half, as uint8 arrays (OpenCV does the per-frame work: a bilinear zoom of a 1080x1920 frame in ~3 ms)."""

    y: Plane
    u: Plane
    v: Plane

    @classmethod
    def of(cls, rgb: Image.Image) -> Planes:
        w, h = rgb.size
        if w % 2 or h % 2:
            raise ValueError(f"a 4:2:0 picture needs even sides, not {w}x{h}")
        i420 = cv2.cvtColor(np.asarray(rgb.convert("RGB")), cv2.COLOR_RGB2YUV_I420)  # BT.601, 16-235
        c = (w // 2) * (h // 2)
        flat: Plane = np.asarray(i420, np.uint8).reshape(-1)
        return cls(
            flat[: w * h].reshape(h, w),
            flat[w * h : w * h + c].reshape(h // 2, w // 2),
            flat[w * h + c :].reshape(h // 2, w // 2),
        )

    @classmethod
    def solid(cls, size: tuple[int, int], yuv: tuple[int, int, int] = BLACK) -> Planes:
        w, h = size
        half = (h // 2, w // 2)
        return cls(
            np.full((h, w), yuv[0], np.uint8),
            np.full(half, yuv[1], np.uint8),
            np.full(half, yuv[2], np.uint8),
        )

    @classmethod
    def frombytes(cls, data: bytes, size: tuple[int, int]) -> Planes:
        w, h = size
        n, c = w * h, (w // 2) * (h // 2)
        flat = np.frombuffer(data, np.uint8)
        return cls(
            flat[:n].reshape(h, w),
            flat[n : n + c].reshape(h // 2, w // 2),
            flat[n + c : n + 2 * c].reshape(h // 2, w // 2),
        )

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]

    def crop(self, x: int, y: int, size: tuple[int, int]) -> Planes:
        """The `size` window at (x, y) (even coordinates keep the chroma aligned)."""
        w, h = size
        cx, cy = x // 2, y // 2
        return Planes(
            self.y[y : y + h, x : x + w],
            self.u[cy : cy + h // 2, cx : cx + w // 2],
            self.v[cy : cy + h // 2, cx : cx + w // 2],
        )

    def zoom(self, box: tuple[float, float, float, float], size: tuple[int, int]) -> Planes:
        """The (sub-pixel) `box` of this picture scaled to `size` (bilinear)."""
        w, h = size
        x0, y0, x1, y1 = box
        sx, sy = w / (x1 - x0), h / (y1 - y0)

        def warp(plane: Plane, k: int) -> Plane:
            # pixel centres: output pixel j samples source (j + 0.5) / s - 0.5 + x0
            m = np.array(
                [[sx, 0.0, (0.5 * sx - 0.5) - sx * x0 / k], [0.0, sy, (0.5 * sy - 0.5) - sy * y0 / k]],
                np.float64,
            )
            out = cv2.warpAffine(
                plane, m, (w // k, h // k), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            return np.asarray(out, np.uint8)

        return Planes(warp(self.y, 1), warp(self.u, 2), warp(self.v, 2))

    def blend(self, other: Planes, t: float) -> Planes:
        """This picture mixed with `other` (t=0: this one, t=1: the other)."""
        if t <= 0:
            return self
        if t >= 1:
            return other

        def mix(a: Plane, b: Plane) -> Plane:
            return np.asarray(cv2.addWeighted(a, 1 - t, b, t, 0.0), np.uint8)

        return Planes(mix(self.y, other.y), mix(self.u, other.u), mix(self.v, other.v))

    def write(self, out: IO[bytes]) -> None:
        for plane in (self.y, self.u, self.v):
            out.write(np.ascontiguousarray(plane).data)


def _splice(a: Planes, b: Planes, cut: int, shift: int) -> Planes:
    """Columns [0, cut) from `a` starting at column `shift`, the rest from `b` starting at column 0 (cut and
    shift even): a wipe (shift 0) or a slide (shift = width - cut)."""
    out = []
    for pa, pb, k in ((a.y, b.y, 1), (a.u, b.u, 2), (a.v, b.v, 2)):
        w = pa.shape[1]
        c, s = cut // k, shift // k
        left = pa[:, s : s + c]
        right = pb[:, : w - c] if s else pb[:, c:]
        out.append(np.concatenate((left, right), axis=1))
    return Planes(*out)


def transition_frame(kind: Kind, a: Planes, b: Planes, t: float) -> Planes:
    """Frame of a drawn transition from `a` to `b` at progress t (0 <= t < 1): dissolve, through black,
    wipe (the next shot uncovered from the right), slide (the next shot pushes this one out to the left)."""
    w = a.size[0]
    if kind == "dissolve":
        return a.blend(b, t)
    if kind == "fade_black":
        black = Planes.solid(a.size)
        return a.blend(black, 2 * t) if t < 0.5 else black.blend(b, 2 * t - 1)
    if kind == "wipe":
        return _splice(a, b, 2 * round(w * (1 - t) / 2), 0)
    if kind == "slide":
        shift = 2 * round(w * t / 2)
        return _splice(a, b, w - shift, shift)
    raise ValueError(f"no transition frame for {kind!r}")


# --------------------------------------------------------------------------- one shot's frames
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


def canvas_size(move: Move, size: tuple[int, int]) -> tuple[int, int]:
    """The size a shot's stills are laid out at: the frame plus the move's margin (along a pan's or tilt's
    path; both ways for a zoom, which then only ever scales down)."""
    w, h = size

    def grow(n: int) -> int:
        return 2 * round(n * (1 + MOVE_AMOUNT) / 2)

    if move in ("pan_left", "pan_right"):
        return grow(w), h
    if move in ("tilt_up", "tilt_down"):
        return w, grow(h)
    if move in ("push_in", "pull_out"):
        return grow(w), grow(h)
    return w, h


def crossfade(length: int) -> tuple[int, int]:
    """(first frame, frames) of a shot's start-to-end crossfade: the middle third of its `length` frames."""
    fade = max(1, length // 3)
    return (length - fade) // 2, fade


def still_frames(
    start: Planes, end: Planes | None, move: Move, length: int, size: tuple[int, int]
) -> Iterator[Planes]:
    """The `length` frames of a shot of stills (laid out at canvas_size(move, size)): the move over the whole
    shot, the start crossfading into the end over the middle third."""
    w, h = size
    cw, ch = start.size
    first, fade = crossfade(length)
    last: tuple[float, tuple[float, ...], Planes] | None = None
    for i in range(length):
        p = min(i / max(length - 1, 1), 1.0)
        t = 0.0 if end is None else min(max((i - first + 1) / (fade + 1), 0.0), 1.0)
        if move in ("push_in", "pull_out"):
            k = p if move == "push_in" else 1 - p
            # zoom 1 shows the whole canvas scaled to the frame; zoom 1 + MOVE_AMOUNT, the frame's pixels 1:1
            bw, bh = cw - (cw - w) * k, ch - (ch - h) * k
            box = ((cw - bw) / 2, (ch - bh) / 2, (cw + bw) / 2, (ch + bh) / 2)
            if last is None or last[0] != t or last[1] != box:
                picture = start.blend(end, t) if end is not None else start  # blend first: one resize
                last = (t, box, picture.zoom(box, size))
        else:
            along = {"pan_right": p, "pan_left": 1 - p, "tilt_down": p, "tilt_up": 1 - p}.get(move, 0.5)
            x = 2 * round((cw - w) * (along if move.startswith("pan") else 0.5) / 2)
            y = 2 * round((ch - h) * (along if move.startswith("tilt") else 0.5) / 2)
            if last is None or last[0] != t or last[1] != (x, y):
                frame = start.crop(x, y, size)
                if end is not None and t > 0:
                    frame = frame.blend(end.crop(x, y, size), t)
                last = (t, (x, y), frame)
        yield last[2]  # a frame that does not change is the same picture again


class _ClipReader:
    """A scene's clip decoded by ffmpeg at the output size and frame rate, as raw 4:2:0 frames."""

    def __init__(self, exe: str, clip: Path, fps: int, size: tuple[int, int], log: Path) -> None:
        w, h = size
        self.size = size
        self.frame_bytes = w * h * 3 // 2
        self.clip = clip
        self.log = log
        self.stderr = log.open("wb")
        vf = f"fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},format=yuv420p"
        self.proc = subprocess.Popen(
            [
                exe,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                str(clip),
                "-vf",
                vf,
                "-an",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-",
            ],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )

    def frames(self, length: int) -> Iterator[Planes]:
        """`length` frames: the clip re-timed, its last frame held when it is shorter, cut when longer."""
        assert self.proc.stdout is not None
        last: Planes | None = None
        try:
            for _ in range(length):
                data = self.proc.stdout.read(self.frame_bytes)
                if len(data) == self.frame_bytes:
                    last = Planes.frombytes(data, self.size)
                elif last is None:
                    raise ProviderError(f"{self.clip.name}: {self._why()}")
                yield last
        finally:
            self.close()

    def first(self) -> Planes | None:
        """The first frame, or None when the clip does not decode."""
        assert self.proc.stdout is not None
        data = self.proc.stdout.read(self.frame_bytes)
        return Planes.frombytes(data, self.size) if len(data) == self.frame_bytes else None

    def _why(self) -> str:
        self.close()
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no frame decoded"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


# --------------------------------------------------------------------------- render
@dataclass
class _Source:
    frames: Iterator[Planes]
    length: int


def _open_shot(
    i: int, shot: Shot, length: int, exe: str, fps: int, size: tuple[int, int], work: Path, notes: list[str]
) -> _Source:
    if shot.clip is not None:
        reader = _ClipReader(exe, shot.clip, fps, size, work / f"clip{i + 1}.log")
        head = reader.first()
        if head is not None:

            def clip_frames() -> Iterator[Planes]:
                yield head
                yield from reader.frames(length - 1)

            return _Source(clip_frames(), length)
        why = reader._why()
        if shot.start is None:
            raise ProviderError(
                f"scene {i + 1}'s clip {shot.clip.name} does not decode ({why}) and it has no still"
            )
        notes.append(f"animatic: scene {i + 1}'s clip does not decode ({why}); it shows the stills")
    if shot.start is None:
        raise ValueError(f"shot {i + 1} has neither a clip nor a still")
    canvas = canvas_size(shot.move, size)
    start = Planes.of(layout(shot.start, canvas))
    end = None
    if shot.end is not None and shot.end != shot.start:
        end = Planes.of(layout(shot.end, canvas))
    return _Source(still_frames(start, end, shot.move, length, size), length)


def timeline(
    shots: list[Shot], fps: int, size: tuple[int, int], work: Path, notes: list[str], exe: str
) -> Iterator[Planes]:
    """Every frame of the animatic in order: each shot for its planned frames, a drawn transition mixing a
    shot's tail (its overlap) with the next shot's first frames, the last shot fading to black unless it cuts."""
    over = overlaps(shots, fps)
    total = sum(s.frames for s in shots)
    last = shots[-1]
    fade_n = 0 if last.transition == "cut" else max(1, min(round(TRANSITION_S * fps), last.frames // 2))
    black = Planes.solid(size)
    at = 0
    tail: list[Planes] = []  # the previous shot's overlap frames
    for i, shot in enumerate(shots):
        source = _open_shot(i, shot, shot.frames + over[i], exe, fps, size, work, notes)
        kind = shots[i - 1].transition if i else "cut"
        head, tail = tail, []
        for k, frame in enumerate(source.frames):
            if k >= shot.frames:
                tail.append(frame)  # held for the next transition
                continue
            if k < len(head):
                frame = transition_frame(kind, head[k], frame, k / len(head))
            if at >= total - fade_n:
                frame = frame.blend(black, (at - (total - fade_n) + 1) / fade_n)
            yield frame
            at += 1


def render(
    shots: list[Shot],
    dest: Path,
    *,
    fps: int,
    size: tuple[int, int],
    work: Path,
    audio: Path | None = None,
    burn: Path | None = None,
    notes: list[str] | None = None,
) -> int:
    """Encode the animatic of `shots` to `dest` (H.264, yuv420p, faststart; AAC when `audio` is given, trimmed
    or padded with silence to the animatic's length). `burn`: an SRT file drawn onto the frames. `work`: a
    scratch folder. `notes`: what the animatic did differently from the plan (a clip that would not decode)
    is appended here. Returns the number of frames written."""
    if not shots:
        raise UserError("nothing to export: the storyboard has no scenes")
    exe = ffmpeg_exe()
    notes = notes if notes is not None else []
    w, h = size
    total = sum(s.frames for s in shots)
    seconds = total / fps
    args = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    args += [
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        f"{w}x{h}",
        "-framerate",
        str(fps),
        "-i",
        "pipe:0",
    ]
    vf = "setsar=1"
    if burn is not None:
        if not has_filter("subtitles", exe):
            raise ConfigError(
                f"this ffmpeg ({exe}) has no subtitles filter (it needs libass) to burn captions in: "
                "use --captions srt"
            )
        shutil.copyfile(burn, work / "burn.srt")
        style = f"FontName=DejaVu Sans,FontSize={16 if w < h else 20},Outline=2,MarginV=24"
        vf += f",subtitles=burn.srt:force_style='{style}',format=yuv420p"
    if audio is not None:
        args += ["-i", str(audio.resolve())]
    args += ["-filter:v", vf]
    if audio is not None:
        args += ["-map", "0:v", "-map", "1:a:0"]
        args += ["-filter:a", f"aresample=48000,apad=whole_dur={seconds},atrim=end={seconds}"]
        args += ["-c:a", "aac", "-b:a", "128k"]
    args += ["-c:v", "libx264", "-preset", PRESET, "-x264-params", X264_PARAMS]
    args += ["-crf", str(CRF), "-pix_fmt", "yuv420p", "-colorspace", "smpte170m", "-color_range", "tv"]
    args += ["-movflags", "+faststart", str(dest.resolve())]
    log = work / "ffmpeg.log"
    deadline = time.monotonic() + FFMPEG_TIMEOUT_S
    written = 0
    with log.open("wb") as err:
        proc = subprocess.Popen(args, cwd=work, stdin=subprocess.PIPE, stderr=err)
        assert proc.stdin is not None
        try:
            for frame in timeline(shots, fps, size, work, notes, exe):
                frame.write(proc.stdin)
                written += 1
                if time.monotonic() > deadline:
                    raise ProviderError(f"ffmpeg took over {FFMPEG_TIMEOUT_S} s encoding the animatic")
            proc.stdin.close()
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except BrokenPipeError:
            code = proc.wait()
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ProviderError(f"ffmpeg took over {FFMPEG_TIMEOUT_S} s encoding the animatic") from None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if code != 0:
        detail = (log.read_text(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise ProviderError(f"ffmpeg could not encode the animatic: {detail}")
    if written != total:
        raise ProviderError(f"the animatic made {written} frames, not the planned {total}")
    return total
