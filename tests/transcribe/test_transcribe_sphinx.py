"""The local transcriber on real (synthesized) speech: every format, recall, timing on the whole file's clock,
parallel == serial, and the stage's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from speechkit import (
    FIRST_TEXT,
    FORMATS,
    SECOND_TEXT,
    SHORT_TEXT,
    Speech,
    content_words,
    pcm_of,
    recall,
    words,
)
from storyreel.services.transcribe import audio
from storyreel.services.transcribe.providers.sphinx import CHUNK_S, SphinxTranscriber, Word, phrases
from storyreel.services.transcribe.recognize import transcribe
from storyreel.shared.contracts import Transcript
from storyreel.shared.errors import InputError, UserError
from storyreel.shared.settings import TranscriptionConfig

# Content-word recall on espeak-ng speech is 0.53-0.74 (see speechkit.recall); garbage decodes score <= 0.03.
MIN_RECALL = 0.35


@pytest.fixture(scope="module")
def serial() -> SphinxTranscriber:
    return SphinxTranscriber(TranscriptionConfig(workers=1))


@pytest.fixture(scope="module")
def long_serial(speech: Speech, serial: SphinxTranscriber) -> Transcript:
    return serial.transcribe(speech.long, None)


def _check_segments(t: Transcript) -> None:
    assert t.segments, "no segments"
    assert t.text == " ".join(s.text for s in t.segments)
    for a, b in zip(t.segments, t.segments[1:], strict=False):
        assert a.end <= b.start, f"segments overlap or are out of order: {a} / {b}"
    for s in t.segments:
        assert 0 <= s.start < s.end <= t.duration_s + 0.01
        assert s.text.strip() and "<" not in s.text and "(" not in s.text  # no <sil>, no "the(2)"
        assert s.confidence is not None and 0 <= s.confidence <= 1


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_transcribes(speech: Speech, serial: SphinxTranscriber, fmt: str) -> None:
    t = serial.transcribe(speech.formats[fmt], None)
    assert t.provider == "local" and t.language == "en" and t.model == "pocketsphinx-en-us"
    assert t.duration_s == pytest.approx(len(pcm_of(speech.short)) / 16000, abs=0.08)
    _check_segments(t)
    assert recall(SHORT_TEXT, t.text) >= MIN_RECALL, t.text


def test_brief_recall_through_the_stage(speech: Speech, serial: SphinxTranscriber) -> None:
    t = transcribe(speech.brief, TranscriptionConfig(workers=1), 30, serial)
    _check_segments(t)
    assert recall(FIRST_TEXT, t.text) >= MIN_RECALL, t.text
    # The phrases follow the speaker's pauses: several of them, none absurdly long.
    assert len(t.segments) >= 4
    assert max(len(s.text.split()) for s in t.segments) <= 30


def test_noisy_speech_still_transcribes(speech: Speech, serial: SphinxTranscriber) -> None:
    t = transcribe(speech.noisy, TranscriptionConfig(workers=1), 30, serial)
    assert recall(FIRST_TEXT, t.text) >= MIN_RECALL, t.text


def test_recall_fails_on_a_broken_decode(speech: Speech, serial: SphinxTranscriber) -> None:
    """The threshold means something: the same audio reversed (what a byte-order or channel mix-up sounds
    like to the recogniser) scores far below it."""
    reversed_pcm = pcm_of(speech.brief)[::-1].copy()
    hyp = " ".join(w.text for w in serial.recognise(reversed_pcm))
    assert recall(FIRST_TEXT, hyp) < MIN_RECALL / 3, hyp


def _speech_extent(pcm: np.ndarray) -> tuple[float, float]:
    hop = 160
    n = len(pcm) // hop
    db = 10 * np.log10(
        np.mean((pcm[: n * hop].astype(np.float32) / 32768).reshape(n, hop) ** 2, axis=1) + 1e-12
    )
    loud = np.flatnonzero(db > -45)
    return loud[0] * hop / 16000, (loud[-1] + 1) * hop / 16000


def test_long_audio_segments_sit_where_the_speech_is(speech: Speech, long_serial: Transcript) -> None:
    pcm = pcm_of(speech.long)
    spans = audio.split_at_silences(pcm, 16000, CHUNK_S)
    assert len(spans) >= 3  # really chunked
    t = long_serial
    _check_segments(t)
    offset = speech.second_offset_s
    first_end = _speech_extent(pcm_of(speech.brief))[1]
    onset, last = _speech_extent(pcm)
    assert abs(t.segments[0].start - onset) < 0.3
    assert abs(t.segments[-1].end - last) < 0.4
    # Nothing recognised inside the silent gap between the clips.
    for s in t.segments:
        assert s.end <= first_end + 0.2 or s.start >= offset - 0.2, f"segment in the gap: {s}"
    # Words only the second clip has are timed after its offset; words only the first has, before the gap.
    only_first = set(content_words(FIRST_TEXT)) - set(words(SECOND_TEXT))
    only_second = set(content_words(SECOND_TEXT)) - set(words(FIRST_TEXT))
    seen_first = seen_second = 0
    for s in t.segments:
        said = set(words(s.text))
        if said & only_second:
            seen_second += 1
            assert s.start >= offset - 0.2, f"second clip's words before its offset: {s}"
        if said & only_first:
            seen_first += 1
            assert s.end <= first_end + 0.2, f"first clip's words after it ended: {s}"
    assert seen_first >= 3 and seen_second >= 1
    assert recall(FIRST_TEXT + " " + SECOND_TEXT, t.text) >= MIN_RECALL


def test_parallel_workers_give_the_same_transcript(speech: Speech, long_serial: Transcript) -> None:
    from storyreel.services.transcribe.providers import sphinx

    assert len(pcm_of(speech.long)) > sphinx.POOL_MIN_AUDIO_S * 16000  # long enough for the pool
    two = SphinxTranscriber(TranscriptionConfig(workers=2)).transcribe(speech.long, None)
    assert any(workers == 2 for workers, _ in sphinx._pools)  # it really ran on worker processes
    assert two == long_serial


def test_non_english_hint_names_the_fix(speech: Speech, serial: SphinxTranscriber) -> None:
    with pytest.raises(UserError) as exc:
        serial.transcribe(speech.short, "de")
    message = str(exc.value)
    assert "\n" not in message and "--transcriber openai" in message and "'de'" in message
    assert serial.transcribe(speech.short, "en-US").language == "en"


def test_stage_rejects_bad_input_before_recognising(tmp_path: Path, serial: SphinxTranscriber) -> None:
    empty = tmp_path / "brief.m4a"
    empty.touch()
    with pytest.raises(InputError, match=r"^audio file is empty \(0 bytes\): brief.m4a$"):
        transcribe(empty, TranscriptionConfig(), 30, serial)


def test_empty_hypothesis_is_no_speech(speech: Speech) -> None:
    class Deaf:
        name = "deaf"

        def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
            return Transcript(text="", duration_s=1.0, provider=self.name)

    with pytest.raises(InputError, match=r"^no speech found in short.wav$"):
        transcribe(speech.short, TranscriptionConfig(), 30, Deaf())


def test_phrases_split_at_pauses_and_chunk_edges() -> None:
    w = [
        Word("make", 0.0, 0.3, 0.9, 0),
        Word("a", 0.32, 0.4, 0.5, 0),
        Word("video", 0.8, 1.2, 0.7, 0),  # 0.4 s pause before: new phrase
        Word("now", 1.25, 1.5, 0.6, 1),  # next chunk: new phrase even without a pause
    ]
    segs = phrases(w)
    assert [s.text for s in segs] == ["make a", "video", "now"]
    assert (segs[0].start, segs[0].end, segs[0].confidence) == (0.0, 0.4, 0.7)


def test_without_worker_processes_it_says_so_and_decodes_here(
    speech: Speech, long_serial: Transcript, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """AWS Lambda has no /dev/shm, so no process pool: the same transcript, and a warning saying why."""
    from storyreel.services.transcribe.providers import sphinx

    def no_pool(workers: int, options: dict) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(sphinx, "_pool", no_pool)
    with caplog.at_level("WARNING", logger=sphinx.__name__):
        t = SphinxTranscriber(TranscriptionConfig(workers=4)).transcribe(speech.long, None)
    assert t == long_serial
    assert "no worker processes" in caplog.text
