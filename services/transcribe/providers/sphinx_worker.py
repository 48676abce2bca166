"""What a pocketsphinx worker process runs: one Decoder per process, reused for every chunk it gets.

Kept free of numpy and pydantic so a pool worker starts fast: the forkserver preloads only this module and
pocketsphinx (a few milliseconds), and each worker then loads the model once in its initializer.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from storyreel.shared.errors import ProviderError

FRAME_RATE = 100  # pocketsphinx frames per second (its -frate default)
_ALT_PRON = re.compile(r"\(\d+\)$")  # "the(2)": the dictionary's second pronunciation of "the"


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds on the whole file's clock
    end: float
    prob: float  # lattice posterior, 0..1
    chunk: int


_decoder: Any = None
_decoder_options: dict[str, Any] | None = None
# One utterance at a time per Decoder: callers in this process hold it around recognise_chunk.
decoder_lock = threading.Lock()


def get_decoder(options: dict[str, Any]) -> Any:
    """This process's Decoder for `options`, built on first use (about 0.25 s: model, dictionary, LM)."""
    global _decoder, _decoder_options
    if _decoder is None or _decoder_options != options:
        from pocketsphinx import Decoder

        try:
            _decoder = Decoder(loglevel="FATAL", **options)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ProviderError(f"pocketsphinx could not load its model: {exc}", provider="local") from exc
        _decoder_options = dict(options)
    return _decoder


def init_worker(options: dict[str, Any]) -> None:
    get_decoder(options)


def recognise_chunk(options: dict[str, Any], index: int, offset_s: float, pcm: bytes) -> list[Word]:
    """Recognise one chunk (int16 mono 16 kHz bytes); words timed from the start of the whole file."""
    decoder = get_decoder(options)
    # Fresh feature state (noise estimate, filters) per chunk: a chunk decodes the same whichever worker
    # gets it and whatever it decoded before, so the transcript does not depend on the number of workers.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)  # whole chunk at once: batch cepstral mean normalisation
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
