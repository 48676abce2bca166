"""The local Whisper on a tiny random model converted here (tinywhisper.py): the real loading, VAD, decoding,
language detection and word timing run; the text is garbage, the contract must hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from speechkit import Speech, pcm_of
from storyreel.services.transcribe import step as transcribe_step
from storyreel.services.transcribe.providers import TRANSCRIBERS, auto_choice
from storyreel.services.transcribe.providers.whisper import WhisperTranscriber, load_model
from storyreel.shared.contracts import Transcript
from storyreel.shared.errors import UserError
from storyreel.shared.settings import Settings, TranscriptionConfig
from tinywhisper import LANGUAGES, build

from testkit.fakes import make_context
from testkit.vendors.media import write_wav

FAST = {"temperature": 0.0}  # one decoding pass: a random model never passes the fallback's checks


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tiny-whisper"))


def whisper(model: Path, **kw) -> WhisperTranscriber:
    config = TranscriptionConfig(provider="whisper", model=str(model), beam_size=1, workers=2, **kw)
    return WhisperTranscriber(config, decode_options=FAST)


def assert_contract(t: Transcript, duration: float) -> None:
    assert t.provider == "whisper" and t.segments
    assert t.duration_s == pytest.approx(duration, abs=0.01)
    assert t.text == " ".join(s.text for s in t.segments)
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts)
    for s in t.segments:
        assert 0 <= s.start <= s.end <= t.duration_s and s.text == s.text.strip() and s.text
        assert 0 <= (s.confidence or 0) <= 1
        w_starts = [w.start for w in s.words]
        assert w_starts == sorted(w_starts)
        for w in s.words:
            assert s.start <= w.start <= w.end <= s.end and w.text
    assert any(s.words for s in t.segments)


def test_the_tiny_model_transcribes_speech_within_the_contract(tiny_whisper: Path, speech: Speech) -> None:
    t = whisper(tiny_whisper).transcribe(speech.brief, None)
    assert_contract(t, len(pcm_of(speech.brief)) / 16000)
    assert t.language in LANGUAGES  # detected (a random model's guess), not assumed
    assert t.model == str(tiny_whisper)


def test_a_language_hint_is_used_and_an_unknown_one_refused(tiny_whisper: Path, speech: Speech) -> None:
    t = whisper(tiny_whisper, language="de").transcribe(speech.short, None)
    assert t.language == "de"
    with pytest.raises(UserError, match="does not know 'xx'"):
        whisper(tiny_whisper).transcribe(speech.short, "xx")


def test_vad_skips_silence(tiny_whisper: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faster_whisper.transcribe as fw

    calls: list[float] = []
    real = fw.get_speech_timestamps

    def spy(audio, *args, **kwargs):  # Silero VAD, as faster-whisper calls it
        calls.append(len(audio) / 16000)
        return real(audio, *args, **kwargs)

    monkeypatch.setattr(fw, "get_speech_timestamps", spy)
    quiet = write_wav(tmp_path / "quiet.wav", [(4.0, False)])
    with_vad = whisper(tiny_whisper).transcribe(quiet, None)
    assert calls == [4.0]  # the whole file went through the VAD ...
    assert (
        with_vad.segments == [] and with_vad.text == ""
    )  # ... which found no speech, so nothing was decoded
    whisper(tiny_whisper, vad_filter=False).transcribe(quiet, None)
    assert calls == [4.0]  # vad_filter: false decodes without it


def test_the_model_is_loaded_once_per_process(tiny_whisper: Path) -> None:
    a, b = whisper(tiny_whisper), whisper(tiny_whisper)
    assert a.model is b.model
    assert a.compute_type == "int8" and a.device == "cpu"
    assert load_model(a.path, "cpu", "int8", 2) is a.model


def test_auto_picks_whisper_when_the_model_is_here_and_says_why(
    tiny_whisper: Path, speech: Speech, tmp_path: Path
) -> None:
    here = TranscriptionConfig(model=str(tiny_whisper), beam_size=1)
    choice = auto_choice(here)
    assert choice.provider == "whisper" and str(tiny_whisper) in choice.why
    built = TRANSCRIBERS.build(here)
    assert built.name == "whisper"

    missing = TranscriptionConfig(model=str(tmp_path / "nothing-here"))
    fallback = auto_choice(missing)
    assert fallback.provider == "local" and "no Whisper model" in fallback.why and fallback.better
    assert TRANSCRIBERS.build(missing).name == "local"

    # through the stage: transcript.json says which transcriber ran and why
    ctx = make_context(tmp_path, settings=Settings(transcription=here))
    key = ctx.key("audio/brief.wav")
    ctx.blobs.put_bytes(key, speech.brief.read_bytes())
    t = transcribe_step.run(ctx, key)
    assert t.provider == "whisper" and t.selection == choice.why
    assert "auto: Whisper" in transcribe_step.describe(t)


def test_storyreel_run_with_the_local_whisper_end_to_end(
    tiny_whisper: Path, speech: Speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from storyreel.cli import cli as app

    monkeypatch.setenv("STORYREEL_TRANSCRIPTION__MODEL", str(tiny_whisper))
    monkeypatch.setenv("STORYREEL_TRANSCRIPTION__BEAM_SIZE", "1")
    args = ["run", str(speech.brief), "--preset", "preview", "--out", str(tmp_path), "--json"]
    result = CliRunner().invoke(app, args)  # auto: the model is here, so whisper runs
    assert result.exit_code == 0, result.stderr
    folder = Path(json.loads(result.stdout)["output_dir"])
    transcript = Transcript.model_validate_json((folder / "transcript.json").read_text())
    assert_contract(transcript, len(pcm_of(speech.brief)) / 16000)
    record = json.loads((folder / "run.json").read_text())
    assert "transcriber=whisper" in record["stages"]["setup"]["detail"]
    assert (
        f"auto: Whisper {tiny_whisper}, found at {tiny_whisper}" in record["stages"]["transcribe"]["detail"]
    )
