"""Audio in: validate, decode to 16 kHz mono int16 with ffmpeg, find speech, cut at silences.

One ffmpeg probe (header only: streams and duration) answers "is it audio, is it too long" without decoding;
then one decode to PCM, capped at the limit, feeds the speech check and is kept in a small cache keyed by the
file's identity (path, size, mtime), so the transcriber's `decode_pcm` on the same file does not decode again.
That decode's log also gives the declared duration and any decoding errors: a truncated or damaged file passes
with a warning saying how much was read. Before any of it, stat refuses what is not a regular file (a FIFO,
a device, a socket) or is bigger than the size bound, without opening it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from storyreel.shared.contracts import AudioWarning
from storyreel.shared.errors import ConfigError, InputError, ProviderError
from storyreel.shared.settings import audio_too_big

SAMPLE_RATE = 16_000
_FRAME_S = 0.01  # energy frames for splitting: 10 ms
_CACHE_ENTRIES = 2  # decoded files kept (30 min of 16 kHz int16 is 58 MB)


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
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        try:
            return imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError:
            pass
    raise ConfigError(
        "ffmpeg not found: install Debian's ffmpeg or the imageio-ffmpeg wheel (pip install imageio-ffmpeg)"
    )


def _ffmpeg(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )


def _input(path: Path) -> str:
    """`file:` makes ffmpeg read the path as a local file, never as a protocol (pipe:, http:, concat:...)."""
    return f"file:{path}"


def _last_line(stderr: bytes, path: Path | None = None) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    line = lines[-1] if lines else "no output"
    if path is not None:  # ffmpeg prefixes the input's name; the message names the file already
        line = line.removeprefix(f"{_input(path)}: ")
    return line


@dataclass(frozen=True)
class Probe:
    has_audio: bool
    duration_s: float | None  # from the container header; None when it does not say
    error: str | None  # ffmpeg's reason when it could not open the file at all


_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO_STREAM = re.compile(r"Stream #\d+:\d+.*?: Audio:")


def probe(path: Path) -> Probe:
    """Read the header only (`ffmpeg -i` with no output): audio streams and the container's duration."""
    proc = _ffmpeg(["-i", _input(path)])
    text = proc.stderr.decode("utf-8", "replace")
    has_audio = bool(_AUDIO_STREAM.search(text))
    duration = None
    if m := _DURATION.search(text):
        h, mnt, s = m.groups()
        duration = int(h) * 3600 + int(mnt) * 60 + float(s)
    # With no output file ffmpeg always exits 1; it only failed to open the input if no "Input #" was printed.
    error = None if "Input #" in text else _last_line(proc.stderr, path)
    return Probe(has_audio=has_audio, duration_s=duration, error=error)


# --------------------------------------------------------------------------- decode (+ cache)
_cache: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def _identity(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


# One line of ffmpeg's log with `-loglevel repeat+level+...`: "[wav @ 0x55d0] [warning] Packet corrupt ...".
_LOG_LINE = re.compile(r"^(?:\[(?P<source>[^\]]*) @ 0x[0-9a-fA-F]+\] )?\[(?P<level>[a-z]+)\] (?P<msg>.*)$")


@dataclass(frozen=True)
class Decoded:
    pcm: np.ndarray
    declared_s: float | None  # the container's duration; None when it has none or ffmpeg only estimated it
    problems: tuple[str, ...]  # decoding errors and corrupt packets ffmpeg reported, in order


def _log(stderr: bytes, path: Path) -> list[tuple[str, str, str]]:
    """(source, level, message) per line; the input's name is trimmed (every message names the file)."""
    out = []
    for raw in stderr.decode("utf-8", "replace").splitlines():
        if not raw.strip():
            continue
        m = _LOG_LINE.match(raw)
        source, level, msg = (m["source"] or "", m["level"], m["msg"]) if m else ("", "info", raw)
        out.append((source, level, msg.removeprefix(f"{_input(path)}: ")))
    return out


def _reason(log: list[tuple[str, str, str]]) -> str:
    """ffmpeg's last error, else its last line."""
    errors = [msg for _, level, msg in log if level in ("error", "fatal", "panic")]
    return (errors or [msg for _, _, msg in log] or ["no output"])[-1].strip()


def _decode_report(path: Path, max_seconds: float | None = None) -> Decoded:
    """Decode to 16 kHz mono int16 in one ffmpeg run whose log (info level) also gives the container's declared
    duration and every decoding error, so a truncated or damaged file is noticed without a second run."""
    args = ["-nostats", "-loglevel", "repeat+level+info", "-i", _input(path), "-map", "0:a:0", "-vn", "-sn"]
    args += ["-dn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le"]
    if max_seconds is not None:
        args += ["-t", f"{max_seconds:.3f}"]
    proc = _ffmpeg([*args, "pipe:1"])
    log = _log(proc.stderr, path)
    if proc.returncode != 0:
        raise InputError(f"{path.name} could not be decoded as audio (ffmpeg: {_reason(log)})")
    pcm = np.frombuffer(proc.stdout, dtype=np.int16)
    pcm.flags.writeable = False  # shared through the cache: nobody may change it
    estimated = any("estimating duration from bitrate" in msg.lower() for _, _, msg in log)
    declared = None
    for _, _, msg in log:
        if msg.lstrip().startswith("Duration:") and (m := _DURATION.search(msg)):
            h, mnt, sec = m.groups()
            declared = None if estimated else int(h) * 3600 + int(mnt) * 60 + float(sec)
            break
    problems = tuple(
        msg.strip()
        for source, level, msg in log
        if level in ("error", "fatal") or (level == "warning" and _corrupt(source, msg))
    )
    return Decoded(pcm=pcm, declared_s=declared, problems=problems)


def _corrupt(source: str, msg: str) -> bool:
    """A corrupt-packet warning that is news. Not ffmpeg's echo of one ("corrupt input packet in stream N",
    after the demuxer's own line), and not the WAV demuxer's short last packet: a WAV file that ends early is
    told by its header, and one from a streaming writer (no size in the header) always ends on one."""
    if "corrupt" not in msg.lower() or "corrupt input packet in stream" in msg:
        return False
    return not (source.startswith("wav") and msg.startswith("Packet corrupt"))


def _decode(path: Path, max_seconds: float | None = None) -> np.ndarray:
    return _decode_report(path, max_seconds).pcm


def wav_declared_seconds(path: Path) -> float | None:
    """What a RIFF/WAVE header says the audio lasts: its data chunk's size over the format's byte rate. None
    when it is not a WAV file, or the size is a streaming writer's placeholder (0 or about 4 GB)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64 * 1024)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = 0
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and size >= 16 and pos + 20 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        elif chunk == b"data":
            if not byte_rate or size == 0 or size >= 0x7FFF0000:
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def audio_damage(path: Path, decoded: Decoded, limit_s: float | None = None) -> AudioWarning | None:
    """A warning when less audio was decoded than the file declares (truncated: the header of a WAV file, the
    container's duration of any other), or ffmpeg reported decoding errors; None for a whole file."""
    decoded_s = len(decoded.pcm) / SAMPLE_RATE
    declared = wav_declared_seconds(path)
    if declared is None:
        declared = decoded.declared_s
    short = declared is not None and declared - decoded_s > 0.5 + 0.01 * declared
    if limit_s is not None and decoded_s >= limit_s:
        short = False  # decoding stopped at the limit, not at the end of the file
    errors = len(decoded.problems)
    if not short and not errors:
        return None
    said = f"ffmpeg reported {errors} decoding error(s), first: {decoded.problems[0]}" if errors else ""
    if short:
        message = (
            f"the audio ended early: only {_fmt_minutes(decoded_s)} of the {_fmt_minutes(declared or 0.0)} "
            f"its header declares could be read (the file is truncated or damaged)"
        )
        message += f"; {said}" if said else ""
    else:
        message = f"the audio is damaged: {said}; {_fmt_minutes(decoded_s)} could be read"
    return AudioWarning(
        message=message,
        decoded_s=round(decoded_s, 3),
        declared_s=None if declared is None else round(declared, 3),
        decode_errors=errors,
    )


def _remember(key: tuple[str, int, int], pcm: np.ndarray) -> None:
    with _cache_lock:
        _cache[key] = pcm
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)


def decode_pcm(path: Path | str) -> np.ndarray:
    """The whole file as int16 mono at 16 kHz (read-only array). Any format ffmpeg reads."""
    path = Path(path)
    key = _identity(path)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    pcm = _decode(path)
    _remember(key, pcm)
    return pcm


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def encode_chunk(
    pcm: np.ndarray, sample_rate: int, start_s: float, end_s: float, path: Path | str, fmt: str = "flac"
) -> Path:
    """Write pcm[start_s:end_s] (int16 mono) to `path` in `fmt` (any ffmpeg muxer: flac, wav, mp3, ogg...)."""
    path = Path(path)
    lo = max(0, round(start_s * sample_rate))
    hi = min(len(pcm), round(end_s * sample_rate))
    data = np.ascontiguousarray(pcm[lo:hi], dtype=np.int16).tobytes()
    args = ["-v", "error", "-y", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    proc = _ffmpeg([*args, "-f", fmt, _input(Path(path))], stdin=data)
    if proc.returncode != 0:
        raise ProviderError(
            f"ffmpeg could not write {path.name}: {_last_line(proc.stderr)}", provider="ffmpeg"
        )
    return path


# --------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration_s: float
    sample_rate: int
    pcm: np.ndarray  # int16 mono, read-only; also in decode_pcm's cache
    warning: AudioWarning | None = None  # truncated or damaged: only part of the file was read


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_file_stat(path: Path, st: os.stat_result, max_minutes: float | None = None) -> None:
    """Refuse what `st` says cannot be an audio file: anything but a regular file (a FIFO would block the
    reader for ever, /dev/zero never ends), or one bigger than `max_minutes` of audio can take."""
    if not stat.S_ISREG(st.st_mode):
        kind = _not_regular(st.st_mode)
        target = os.path.realpath(path)
        via = f" ({target})" if target != os.path.abspath(path) else ""
        raise InputError(f"{path}{via} is {kind}, not an audio file")
    if max_minutes is not None and (too_big := audio_too_big(path.name, st.st_size, max_minutes)):
        raise InputError(too_big)


def check_input_file(path: Path, max_minutes: float | None = None) -> os.stat_result:
    """The input is a readable regular file within the size bound: one line for each problem, decided by stat
    (symlinks followed) before anything opens the file, so a FIFO, a device or a socket is never read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        dangling = f" (a symlink to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise InputError(f"audio file not found: {path}{dangling}") from None
    except OSError as exc:
        raise InputError(f"audio file cannot be read: {path} ({exc.strerror or exc})") from None
    check_file_stat(path, st, max_minutes)
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"audio file cannot be read: {path} ({exc.strerror or exc})") from None
    return st


def check_audio(path: Path | str, max_minutes: float) -> AudioInfo:
    """Everything a user can get wrong about an audio file, each as an InputError with one line.

    Missing, not a regular file, too big, empty, not audio, longer than `max_minutes`, no speech. Decodes the
    file once (capped just past the limit) and caches the PCM for the transcriber; the header is probed only
    when the file is refused. A file that ends early or decodes with errors passes with `warning` set.
    """
    path = Path(path)
    st = check_input_file(path, max_minutes)
    if st.st_size == 0:
        raise InputError(f"audio file is empty (0 bytes): {path.name}")

    # One ffmpeg run for a good file: decode at most a little past the limit (headers can be missing or wrong,
    # the samples are not). The header is read only to word a refusal: not audio, or how long it really is.
    limit_s = max_minutes * 60
    try:
        decoded = _decode_report(path, max_seconds=limit_s + 1.0)
    except InputError:
        info = probe(path)
        if info.error is not None:
            raise InputError(f"{path.name} is not an audio file (ffmpeg: {info.error})") from None
        if not info.has_audio:
            raise InputError(
                f"{path.name} is not an audio file (ffmpeg found no audio stream in it)"
            ) from None
        raise
    pcm = decoded.pcm
    duration = len(pcm) / SAMPLE_RATE
    if duration > limit_s:
        header = probe(path).duration_s
        if header is not None and header > limit_s:
            raise InputError(_too_long(path, header, max_minutes))
        raise InputError(_too_long(path, duration, max_minutes, at_least=True))
    if len(pcm) == 0:
        damage = audio_damage(path, decoded)
        if damage is not None:  # a header that promises audio, or errors: not "no speech", a broken file
            why = [f"its header declares {_fmt_minutes(damage.declared_s)}"] if damage.declared_s else []
            why += [f"ffmpeg: {decoded.problems[0]}"] if decoded.problems else []
            raise InputError(f"{path.name} is damaged: nothing in it could be decoded ({'; '.join(why)})")
        raise InputError(f"no speech found in {path.name} (it holds no audio samples)")
    _remember(_identity(path), pcm)

    reason = speech_problem(pcm, SAMPLE_RATE)
    if reason is not None:
        raise InputError(f"no speech found in {path.name} ({reason})")
    warning = audio_damage(path, decoded, limit_s)
    return AudioInfo(path=path, duration_s=duration, sample_rate=SAMPLE_RATE, pcm=pcm, warning=warning)


def _too_long(path: Path, seconds: float, max_minutes: float, at_least: bool = False) -> str:
    more = "over " if at_least else ""
    return (
        f"{path.name} is {more}{_fmt_minutes(seconds)} long; the limit is {max_minutes:g} min "
        f"(pipeline.max_audio_minutes)"
    )


def _fmt_minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


# --------------------------------------------------------------------------- speech check
# Thresholds, measured on espeak-ng speech (clean and with white noise at about 21 dB SNR), sox tones, sweeps and
# white/pink/brown noise: speech frames vary by 7-8 dB (std) around their mean, steady sounds by under 2 dB.
SILENCE_DBFS = -55.0  # loudest 30 ms frame quieter than this: silence
ACTIVE_RANGE_DB = 45.0  # frames within this of the loudest count as "active"
MIN_MODULATION_DB = 3.5  # std of active-frame loudness: speech has syllables, tones and noise do not
MIN_SPEECH_S = 0.3  # voiced, loud frames the VAD must find
# Share of a frame's energy in its strongest spectral peak (5 bins of a 512-point FFT), median over the loud
# frames: beeps (a pure tone switched on and off) 0.84-0.88, a three-note chord 0.69, espeak-ng speech 0.45-0.51.
MAX_TONALITY = 0.75
_TONALITY_FRAMES = 2000  # at most this many loud frames are looked at (evenly spaced)


def frame_energy(pcm: np.ndarray, frame: int) -> np.ndarray:
    """Mean square (full scale = 1.0) of each whole `frame`-sample frame; in blocks, so 30 minutes of audio
    never needs more than a few MB of float copies."""
    n = len(pcm) // frame
    out = np.empty(n, dtype=np.float64)
    block = max(1, 1_000_000 // frame)
    for i in range(0, n, block):
        x = pcm[i * frame : min(n, i + block) * frame].reshape(-1, frame).astype(np.float32) / 32768.0
        out[i : i + len(x)] = np.mean(x * x, axis=1)
    return out


def _frame_dbfs(pcm: np.ndarray, frame: int) -> np.ndarray:
    if len(pcm) < frame:
        return np.full(1, -120.0)
    return 10.0 * np.log10(frame_energy(pcm, frame) + 1e-12)


def speech_problem(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> str | None:
    """None when the audio plausibly holds speech, else the reason it does not (for the error line).

    Cheap tests, before any recognizer runs: loud enough (energy); loudness that rises and falls like
    syllables (envelope modulation: rules out steady tones, hum and noise); energy spread over a spectrum
    rather than one peak (rules out beeps); and a voice activity detector (pocketsphinx's WebRTC-style VAD,
    most aggressive mode) that must find at least MIN_SPEECH_S of speech among the loud frames.
    """
    from pocketsphinx import Vad

    vad = Vad(mode=3, sample_rate=sample_rate)
    frame = vad.frame_bytes // 2
    db = _frame_dbfs(pcm, frame)
    peak = float(db.max())
    if peak < SILENCE_DBFS:
        return "the audio is silent"
    active = np.flatnonzero(db > max(SILENCE_DBFS, peak - ACTIVE_RANGE_DB))
    if len(active) < 3 or float(db[active].std()) < MIN_MODULATION_DB:
        return "only a steady tone or noise"
    if _tonality(pcm, frame, active) > MAX_TONALITY:
        return "only tones, no voice"
    need = max(1, int(MIN_SPEECH_S / vad.frame_length))
    found = 0
    for i in active:
        if vad.is_speech(pcm[i * frame : (i + 1) * frame].tobytes()):
            found += 1
            if found >= need:
                return None
    return "nothing a voice detector recognises as speech"


def _tonality(pcm: np.ndarray, frame: int, active: np.ndarray) -> float:
    if len(active) > _TONALITY_FRAMES:
        active = active[np.linspace(0, len(active) - 1, _TONALITY_FRAMES).astype(int)]
    frames = pcm[(active[:, None] * frame + np.arange(frame)[None, :])].astype(np.float32)
    spec = np.abs(np.fft.rfft(frames * np.hanning(frame).astype(np.float32), n=512, axis=1)) ** 2
    peak = spec.argmax(axis=1)
    csum = np.concatenate([np.zeros((len(spec), 1), np.float32), np.cumsum(spec, axis=1)], axis=1)
    rows = np.arange(len(spec))
    band = csum[rows, np.minimum(peak + 3, spec.shape[1])] - csum[rows, np.maximum(peak - 2, 0)]
    return float(np.median(band / (csum[:, -1] + 1e-9)))


# --------------------------------------------------------------------------- silences
def split_at_silences(
    pcm: np.ndarray, sample_rate: int, max_chunk_s: float, min_silence_s: float = 0.3
) -> list[tuple[float, float]]:
    """Cut the audio into consecutive (start_s, end_s) spans, each at most `max_chunk_s` long.

    Each cut goes in the middle of the quietest `min_silence_s` stretch (mean energy over 10 ms frames)
    between half and all of `max_chunk_s` after the previous cut; among stretches within 1 dB of the
    quietest, the latest wins, so chunks come out as long as allowed. The spans cover the whole audio in order.
    """
    if max_chunk_s <= 0:
        raise ValueError("max_chunk_s must be positive")
    total = len(pcm)
    if total == 0:
        return []
    duration = total / sample_rate
    hop = max(1, round(_FRAME_S * sample_rate))
    max_frames = int(max_chunk_s * sample_rate) // hop
    if total <= max_frames * hop or max_frames < 2:
        if max_frames < 2 and total > max_chunk_s * sample_rate:
            return _fixed_spans(total, sample_rate, max_chunk_s)
        return [(0.0, duration)]

    n = -(-total // hop)
    energy = frame_energy(pcm, hop)
    if len(energy) < n:  # the last, partial frame
        tail = pcm[len(energy) * hop :].astype(np.float32) / 32768.0
        energy = np.append(energy, float(np.sum(tail * tail)) / hop)
    w = max(1, round(min_silence_s / _FRAME_S))
    # smooth[c]: mean energy of the w frames centred on frame boundary c (c in 0..n)
    csum = np.concatenate(([0.0], np.cumsum(energy, dtype=np.float64)))
    half = w // 2
    idx = np.arange(n + 1)
    lo = np.clip(idx - half, 0, n)
    hi = np.clip(idx - half + w, 0, n)
    smooth = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    smooth_db = 10.0 * np.log10(smooth + 1e-10)

    spans: list[tuple[float, float]] = []
    start = 0  # frame boundary
    while (n - start) > max_frames:
        first = start + max(1, max_frames // 2)
        last = start + max_frames
        window = smooth_db[first : last + 1]
        best = float(window.min())
        cut = first + int(np.flatnonzero(window <= best + 1.0)[-1])
        spans.append((start * hop / sample_rate, cut * hop / sample_rate))
        start = cut
    spans.append((start * hop / sample_rate, duration))
    return spans


def _fixed_spans(total: int, sample_rate: int, max_chunk_s: float) -> list[tuple[float, float]]:
    step = int(max_chunk_s * sample_rate)
    if step < 1:
        raise ValueError("max_chunk_s is shorter than one sample")
    return [(i / sample_rate, min(i + step, total) / sample_rate) for i in range(0, total, step)]
