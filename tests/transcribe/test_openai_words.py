"""The OpenAI Whisper API returns the same Transcript as the local Whisper (segments, words, language): the real
`openai` SDK against the fake vendor server (testkit/vendors/openai.py), which answers as the API does."""

from __future__ import annotations

from pathlib import Path

import pytest
from storyreel.services.transcribe.providers.openai import OpenAITranscriber
from storyreel.shared.settings import TranscriptionConfig

from testkit.vendors.media import write_wav
from testkit.vendors.openai import FakeOpenAI
from testkit.vendors.server import Request


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def test_whisper_1_asks_for_words_and_puts_each_in_its_segment(server: FakeOpenAI, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "brief.wav", [(0.5, True), (0.4, False), (0.5, True)])
    t = OpenAITranscriber(TranscriptionConfig(provider="openai")).transcribe(wav, None)

    (req,) = server.seen("POST /v1/audio/transcriptions")
    assert req.form["model"] == ["whisper-1"]  # the default when transcription.model is unset
    assert req.form["response_format"] == ["verbose_json"]
    assert req.form["timestamp_granularities[]"] == ["segment", "word"]
    assert t.language == "en"
    first, second = t.segments
    assert [w.text for w in first.words] == ["We", "want", "a", "short", "video"]
    assert [w.text for w in second.words] == ["about", "our", "coffee", "roastery."]
    for seg in t.segments:
        assert all(seg.start <= w.start <= w.end <= seg.end for w in seg.words)


def test_chunked_words_are_moved_to_the_whole_files_clock(server: FakeOpenAI, tmp_path: Path) -> None:
    pattern = [(0.8, True), (0.6, False)] * 4
    wav = write_wav(tmp_path / "long.wav", pattern)

    def per_chunk(req: Request) -> dict:
        return {
            "language": "german",
            "duration": 1.4,
            "text": "hallo welt",
            "segments": [{"id": 0, "seek": 0, "start": 0.1, "end": 0.9, "text": " hallo welt"}],
            "words": [
                {"word": "hallo", "start": 0.1, "end": 0.5},
                {"word": "welt", "start": 0.5, "end": 0.9},
            ],
        }

    server.transcript_for = per_chunk
    t = OpenAITranscriber(
        TranscriptionConfig(provider="openai"), max_upload_bytes=30_000, max_chunk_s=2.0
    ).transcribe(wav, None)
    assert len(t.segments) >= 2 and t.language == "de"
    for seg in t.segments:
        assert [w.text for w in seg.words] == ["hallo", "welt"]
        assert seg.words[0].start == pytest.approx(seg.start, abs=1e-3)
        assert seg.words[-1].end == pytest.approx(seg.end, abs=1e-3)


def test_gpt4o_transcribe_asks_no_timestamps_and_gets_no_words(server: FakeOpenAI, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "brief.wav", [(0.5, True), (0.4, False), (0.5, True)])
    t = OpenAITranscriber(TranscriptionConfig(provider="openai", model="gpt-4o-transcribe")).transcribe(
        wav, None
    )
    (req,) = server.seen("POST /v1/audio/transcriptions")
    assert "timestamp_granularities[]" not in req.form
    assert [s.words for s in t.segments] == [[]]
