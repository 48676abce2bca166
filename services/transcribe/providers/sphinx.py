"""The embedded default transcriber: pocketsphinx 5 with the US English model that ships in its wheel.

Offline, no keys. The audio is decoded once (16 kHz mono, see audio.py), cut at its quietest stretches into
chunks of at most CHUNK_S seconds, and the chunks are recognised in parallel: one Decoder per worker process
(a Decoder cannot be pickled), built once by the pool's initializer and reused for every chunk it gets.
Words come back with lattice posteriors; words are grouped into phrases at pauses (and at chunk edges), and each
phrase becomes a Segment timed on the whole file's clock, its confidence the mean posterior of its words.

Speed settings (measured in bench/transcribe.py, table in docs/transcribe.md): the forward-flat second pass is
off and at most 1500 HMMs stay active per frame. On espeak-ng speech that halves the CPU time of pocketsphinx's
defaults (real-time factor about 0.055 instead of 0.12 per core) at the same word recall.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.transcribe.audio import SAMPLE_RATE, decode_pcm, split_at_silences
from shared.contracts import Segment, Transcript
from shared.errors import ProviderError, UserError
from shared.settings import TranscriptionConfig

MODEL = "pocketsphinx-en-us"
CHUNK_S = 10.0  # longest chunk; cuts go in the quietest stretch of its second half
MIN_PAUSE_S = 0.3  # a silence this long between words ends a phrase (segment)
FRAME_RATE = 100  # pocketsphinx frames per second (its -frate default)
# pocketsphinx options that trade a little search for a lot of speed (see the module docstring).
FAST_OPTIONS: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 1500}

_ALT_PRON = re.compile(r"\(\d+\)$")  # "the(2)": the dictionary's second pronunciation of "the"


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds on the whole file's clock
    end: float
    prob: float  # lattice posterior, 0..1
    chunk: int


# --------------------------------------------------------------------------- decoder (one per process)
_decoder: Any = None
_decoder_options: dict[str, Any] | None = None
_decoder_lock = threading.Lock()


def _make_decoder(options: dict[str, Any]) -> Any:
    from pocketsphinx import Decoder

    try:
        return Decoder(loglevel="FATAL", **options)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ProviderError(f"pocketsphinx could not load its model: {exc}", provider="local") from exc


def _get_decoder(options: dict[str, Any]) -> Any:
    global _decoder, _decoder_options
    if _decoder is None or _decoder_options != options:
        _decoder = _make_decoder(options)
        _decoder_options = dict(options)
    return _decoder


def _init_worker(options: dict[str, Any]) -> None:
    _get_decoder(options)


def _recognise(options: dict[str, Any], index: int, offset_s: float, pcm: bytes) -> list[Word]:
    """Recognise one chunk (int16 mono 16 kHz bytes); words timed from the start of the whole file."""
    decoder = _get_decoder(options)
    # Fresh feature state (noise estimate, filters) per chunk: a chunk decodes the same whichever worker
    # gets it and whatever it decoded before, so the transcript does not depend on the number of workers.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return []
    words = []
    for seg in decoder.seg():
        token = seg.word
        if token.startswith(("<", "[", "++")):  # <s>, </s>, <sil>, [NOISE], ++filler++
            continue
        words.append(
            Word(
                text=_ALT_PRON.sub("", token),
                start=round(offset_s + seg.start_frame / FRAME_RATE, 3),
                end=round(offset_s + (seg.end_frame + 1) / FRAME_RATE, 3),
                prob=min(1.0, max(0.0, float(seg.prob))),
                chunk=index,
            )
        )
    return words


# --------------------------------------------------------------------------- process pool (kept per process)
_pools: dict[tuple[int, tuple[tuple[str, Any], ...]], ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int, options: dict[str, Any]) -> ProcessPoolExecutor:
    """A pool of `workers` processes, each with its own Decoder; kept for later transcriptions.

    forkserver, not fork: the CLI runs a progress thread, and forking a process with threads can deadlock.
    The server preloads pocketsphinx and this module once, so each worker starts in a fraction of a second.
    """
    key = (workers, tuple(sorted(options.items())))
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["numpy", "pocketsphinx", __name__])
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(options,)
            )
            _pools[key] = pool
        return pool


def _drop_pool(pool: ProcessPoolExecutor) -> None:
    with _pools_lock:
        for key, value in list(_pools.items()):
            if value is pool:
                del _pools[key]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)


# --------------------------------------------------------------------------- transcriber
class SphinxTranscriber:
    name = "local"

    def __init__(self, config: TranscriptionConfig, *, chunk_s: float = CHUNK_S) -> None:
        self.config = config
        self.chunk_s = chunk_s
        self.workers = config.workers or os.cpu_count() or 1
        self.options = dict(FAST_OPTIONS)

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        language = language or self.config.language
        if language and language.split("-")[0].lower() != "en":
            raise UserError(
                f"the local transcriber knows English only, not '{language}': use --transcriber openai "
                f"(transcription.provider: openai)"
            )
        pcm = decode_pcm(audio_path)
        duration = len(pcm) / SAMPLE_RATE
        words = self.recognise(pcm)
        segments = phrases(words)
        return Transcript(
            text=" ".join(s.text for s in segments),
            language="en",
            duration_s=round(duration, 3),
            segments=segments,
            provider=self.name,
            model=MODEL,
        )

    def recognise(self, pcm: np.ndarray) -> list[Word]:
        """Words of the whole audio in time order: chunks cut at silences, decoded on `workers` processes.

        This process is one of the workers: the pool (workers - 1 processes) takes chunks from the front of
        the queue (longest first) while this process takes them from the back, until they meet. So the
        pool's start-up (a process and a model load each) overlaps with real work instead of delaying it.
        """
        spans = split_at_silences(pcm, SAMPLE_RATE, self.chunk_s, min_silence_s=MIN_PAUSE_S)
        jobs = [
            (i, start, pcm[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)].tobytes())
            for i, (start, end) in enumerate(spans)
        ]
        helpers = min(self.workers, len(jobs)) - 1
        results: dict[int, list[Word]] = {}
        if helpers <= 0:
            with _decoder_lock:
                for job in jobs:
                    results[job[0]] = _recognise(self.options, *job)
        else:
            pool = _pool(helpers, self.options)
            order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][2]))
            futures = [(i, pool.submit(_recognise, self.options, *jobs[i])) for i in order]
            with _decoder_lock:
                for i, fut in reversed(futures):
                    if fut.cancel():  # not started by the pool yet: take it here
                        results[i] = _recognise(self.options, *jobs[i])
            try:
                for i, fut in futures:
                    if i not in results:
                        results[i] = fut.result()
            except BrokenProcessPool as exc:
                _drop_pool(pool)
                raise ProviderError(f"a pocketsphinx worker process died: {exc}", provider="local") from exc
        return [w for i in range(len(jobs)) for w in results[i]]


def phrases(words: list[Word], min_pause_s: float = MIN_PAUSE_S) -> list[Segment]:
    """Group words into phrase segments: a new phrase starts after a pause or at a chunk edge."""
    groups: list[list[Word]] = []
    for w in words:
        if groups and w.chunk == groups[-1][-1].chunk and w.start - groups[-1][-1].end < min_pause_s:
            groups[-1].append(w)
        else:
            groups.append([w])
    return [
        Segment(
            start=g[0].start,
            end=g[-1].end,
            text=" ".join(w.text for w in g),
            confidence=round(sum(w.prob for w in g) / len(g), 3),
        )
        for g in groups
    ]
