"""The embedded default transcriber: pocketsphinx 5 with the US English model that ships in its wheel.

Offline, no keys. The audio is decoded once (16 kHz mono, see audio.py), cut at its quietest stretches into
chunks of at most CHUNK_S seconds, and the chunks are recognised in parallel on a process pool (kept for the
life of the process): one Decoder per worker (a Decoder cannot be pickled), built once by the pool's
initializer and reused for every chunk it gets. With one worker, or under POOL_MIN_AUDIO_S of audio,
everything runs in this process.
Each chunk is decoded from a fresh feature state, so the transcript is the same for any number of workers.
Words come back with lattice posteriors; words are grouped into phrases at pauses (and at chunk edges), and each
phrase becomes a Segment timed on the whole file's clock, its confidence the mean posterior of its words.

Speed settings (measured in bench/transcribe.py, table in docs/transcribe.md): the forward-flat second pass is
off and at most 1500 HMMs stay active per frame. On the 62 s espeak-ng brief that takes 2.3x less CPU than
pocketsphinx's defaults (4.1 s instead of 9.2 s, bench/results/transcribe.md) at about the same word recall.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
from storyreel.services.transcribe.audio import SAMPLE_RATE, decode_pcm, split_at_silences
from storyreel.services.transcribe.providers import sphinx_worker
from storyreel.services.transcribe.providers.sphinx_worker import Word
from storyreel.shared.contracts import Segment, Transcript
from storyreel.shared.errors import ProviderError, UserError
from storyreel.shared.settings import TranscriptionConfig

MODEL = "pocketsphinx-en-us"
CHUNK_S = 10.0  # longest chunk; cuts go in the quietest stretch of its second half
MIN_PAUSE_S = 0.3  # a silence this long between words ends a phrase (segment)
# Shorter audio is decoded in this process: starting workers (a fork server, a model load each, about 0.35 s
# on idle cores) only pays for itself on longer audio. Measured through the CLI on 2 cores: a 25 s brief
# takes as long either way; the 62 s bench brief is 1.7x faster on 2 workers (docs/transcribe.md).
POOL_MIN_AUDIO_S = 30.0
# pocketsphinx options that trade a little search for a lot of speed (see the module docstring).
FAST_OPTIONS: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 1500}
_WORKER_MODULE = "storyreel.services.transcribe.providers.sphinx_worker"
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- process pool (kept per process)
_pools: dict[tuple[int, tuple[tuple[str, Any], ...]], ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int, options: dict[str, Any]) -> ProcessPoolExecutor:
    """A pool of `workers` processes, each with its own Decoder; kept for later transcriptions.

    forkserver, not fork: the CLI runs a progress thread, and forking a process with threads can deadlock.
    The server preloads only pocketsphinx and the light worker module, so a worker starts in milliseconds
    and then loads its model once (initializer).
    """
    key = (workers, tuple(sorted(options.items())))
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["pocketsphinx", _WORKER_MODULE])
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=sphinx_worker.init_worker,
                initargs=(options,),
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

    def __init__(
        self,
        config: TranscriptionConfig,
        *,
        chunk_s: float = CHUNK_S,
        options: dict[str, Any] | None = None,
        selection: str | None = None,
    ) -> None:
        self.config = config
        self.selection = selection  # why `auto` chose it (recorded in the transcript)
        self.chunk_s = chunk_s
        self.workers = config.workers or os.cpu_count() or 1
        # pocketsphinx Decoder options; the benchmark passes {} to measure pocketsphinx's own defaults.
        self.options = dict(FAST_OPTIONS if options is None else options)

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        language = language or self.config.language
        if language and re.split(r"[-_]", language)[0].lower() != "en":
            raise UserError(
                f"the local transcriber knows English only, not '{language}': use --transcriber whisper "
                f"with a multilingual model, or --transcriber openai (transcription.provider)"
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
            selection=self.selection,
        )

    def recognise(self, pcm: np.ndarray) -> list[Word]:
        """Words of the whole audio in time order: chunks cut at silences, decoded on `workers` processes
        (longest chunk first, so no worker is left alone with a long one at the end) or, with one worker or
        under POOL_MIN_AUDIO_S of audio, in this process."""
        spans = split_at_silences(pcm, SAMPLE_RATE, self.chunk_s, min_silence_s=MIN_PAUSE_S)
        jobs = [
            (i, start, pcm[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)].tobytes())
            for i, (start, end) in enumerate(spans)
        ]
        if self.workers <= 1 or len(jobs) <= 1 or len(pcm) < POOL_MIN_AUDIO_S * SAMPLE_RATE:
            with sphinx_worker.decoder_lock:
                return [w for job in jobs for w in sphinx_worker.recognise_chunk(self.options, *job)]
        order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][2]))
        try:
            pool = _pool(self.workers, self.options)
            futures = {i: pool.submit(sphinx_worker.recognise_chunk, self.options, *jobs[i]) for i in order}
        except OSError as exc:  # no /dev/shm or no fork server (e.g. AWS Lambda): say so, decode here
            log.warning("no worker processes (%s); decoding %d chunks in this process", exc, len(jobs))
            with sphinx_worker.decoder_lock:
                return [w for job in jobs for w in sphinx_worker.recognise_chunk(self.options, *job)]
        try:
            return [w for i in range(len(jobs)) for w in futures[i].result()]
        except BrokenProcessPool as exc:
            _drop_pool(pool)
            raise ProviderError(f"a pocketsphinx worker process died: {exc}", provider="local") from exc


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
