"""Tiny media the fake vendors serve and the tests send: PNG images and tone/silence WAVs."""

from __future__ import annotations

import functools
import io
import wave
from pathlib import Path

import numpy as np


def tiny_png(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (16, 9)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def write_wav(path: Path, pattern: list[tuple[float, bool]], rate: int = 16_000) -> Path:
    """A 16 kHz mono WAV of tone (True) and silence (False) runs, e.g. [(1.0, True), (0.6, False), ...]."""
    parts = []
    for seconds, tone in pattern:
        t = np.arange(int(seconds * rate)) / rate
        parts.append((np.sin(2 * np.pi * 220 * t) * 8000 if tone else np.zeros_like(t)).astype(np.int16))
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(np.concatenate(parts).tobytes())
    return path


def tiny_mp4(seconds: float = 1.0, size: tuple[int, int] = (64, 36), fps: int = 8) -> bytes:
    """A real, small H.264 MP4 (ffmpeg's test pattern), as a video model would answer; cached per shape."""
    return _tiny_mp4(round(seconds, 3), size, fps)


@functools.cache
def _tiny_mp4(seconds: float, size: tuple[int, int], fps: int) -> bytes:
    import subprocess
    import tempfile

    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={size[0]}x{size[1]}:rate={fps}",
                "-t",
                f"{seconds:g}",
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-movflags",
                "+faststart",
                str(out),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return out.read_bytes()
