"""A minimal stand-in for services/transcribe/audio.py (written on the `transcribe` branch), used ONLY when that
module is not importable yet. Same names and signatures; WAV in, WAV out, via the standard library."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import numpy as np


def decode_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wf:
        assert wf.getframerate() == 16_000 and wf.getnchannels() == 1 and wf.getsampwidth() == 2
        return np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16)


def split_at_silences(
    pcm: np.ndarray, sample_rate: int, max_chunk_s: float, min_silence_s: float = 0.3
) -> list[tuple[float, float]]:
    """Cut in the middle of silent runs so that no chunk is longer than max_chunk_s."""
    win = int(0.05 * sample_rate)
    n = len(pcm) // win
    loud = [np.abs(pcm[i * win : (i + 1) * win].astype(np.int32)).mean() > 200 for i in range(n)]
    cuts, run = [], 0
    for i, is_loud in enumerate(loud):
        run = 0 if is_loud else run + 1
        if run * 0.05 >= min_silence_s and (not cuts or cuts[-1] != i - run // 2):
            cut = (i - run // 2) * 0.05
            if not cuts or cut - cuts[-1] > min_silence_s:
                cuts.append(cut)
    total = len(pcm) / sample_rate
    bounds = [0.0]
    for cut in cuts:
        if cut - bounds[-1] > 0:
            bounds.append(cut)
    bounds.append(total)
    spans = list(itertools.pairwise(bounds))
    assert all(end - start <= max_chunk_s for start, end in spans), spans
    return spans


def encode_chunk(
    pcm: np.ndarray, sample_rate: int, start_s: float, end_s: float, path: Path, fmt: str = "flac"
) -> Path:
    part = pcm[int(start_s * sample_rate) : int(end_s * sample_rate)]
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sample_rate)
        wf.writeframes(part.tobytes())
    return path


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def check_audio(path: Path, max_minutes: float = 30.0) -> None:
    from shared.errors import InputError

    if not Path(path).is_file():
        raise InputError(f"audio file not found: {path}")
