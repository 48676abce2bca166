"""audio.py: decoding every common format, the bad-input checks, the PCM cache, cutting at silences."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from speechkit import FORMATS, Speech, pcm_of
from storyreel.services.transcribe import audio
from storyreel.services.transcribe.audio import (
    SAMPLE_RATE,
    check_audio,
    check_input_file,
    decode_pcm,
    encode_chunk,
    ffmpeg_exe,
    speech_problem,
    split_at_silences,
    wav_declared_seconds,
)
from storyreel.shared.errors import InputError
from storyreel.shared.settings import max_audio_bytes


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    audio.clear_cache()


# --------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_decodes_to_16k_mono_int16(speech: Speech, fmt: str) -> None:
    reference = pcm_of(speech.short)
    pcm = decode_pcm(speech.formats[fmt])
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    # Same length as the wav within the codec's padding (opus/aac/mp3 add up to ~60 ms of priming).
    assert abs(len(pcm) - len(reference)) / SAMPLE_RATE < 0.08
    # Same loudness envelope: the decoder got the rate and channels right (not noise, not sped up).
    hop = SAMPLE_RATE // 10
    n = min(len(pcm), len(reference)) // hop
    env = [np.abs(x[: n * hop].astype(np.float32)).reshape(n, hop).mean(axis=1) for x in (pcm, reference)]
    lag = _best_lag(env[0], env[1])
    assert abs(lag) <= 1
    assert np.corrcoef(np.roll(env[0], -lag), env[1])[0, 1] > 0.9


def _best_lag(a: np.ndarray, b: np.ndarray) -> int:
    scores = {lag: float(np.dot(np.roll(a, -lag), b)) for lag in range(-3, 4)}
    return max(scores, key=scores.__getitem__)


def test_check_audio_caches_the_pcm_for_the_transcriber(speech: Speech) -> None:
    info = check_audio(speech.short, max_minutes=30)
    assert info.sample_rate == SAMPLE_RATE
    assert info.duration_s == pytest.approx(len(info.pcm) / SAMPLE_RATE)
    assert decode_pcm(speech.short) is info.pcm  # no second decode
    assert not info.pcm.flags.writeable  # shared: nobody may change it


def test_cache_notices_a_changed_file(speech: Speech, tmp_path: Path) -> None:
    copy = tmp_path / "clip.wav"
    shutil.copy(speech.short, copy)
    first = decode_pcm(copy)
    shutil.copy(speech.silence, copy)
    os.utime(copy, ns=(1, 1))
    second = decode_pcm(copy)
    assert len(second) != len(first)
    assert np.abs(second).max() <= 2  # sox's silence (with its dither)


def test_imageio_ffmpeg_binary_is_the_fallback(speech: Speech, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    ffmpeg_exe.cache_clear()
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    try:
        exe = ffmpeg_exe()
        assert exe == imageio_ffmpeg.get_ffmpeg_exe()
        assert len(decode_pcm(speech.formats["m4a"])) > SAMPLE_RATE
    finally:
        ffmpeg_exe.cache_clear()


def test_names_that_look_like_ffmpeg_protocols_are_plain_files(speech: Speech, tmp_path: Path) -> None:
    odd = tmp_path / "pipe:0.wav"
    shutil.copy(speech.short, odd)
    assert check_audio(odd, 30).duration_s == pytest.approx(len(pcm_of(speech.short)) / SAMPLE_RATE)


def test_encode_chunk_writes_exactly_the_span(speech: Speech, tmp_path: Path) -> None:
    pcm = decode_pcm(speech.short)
    out = encode_chunk(pcm, SAMPLE_RATE, 1.0, 3.5, tmp_path / "chunk.flac")
    assert out.suffix == ".flac" and out.stat().st_size > 0
    back = decode_pcm(out)
    np.testing.assert_array_equal(back, pcm[SAMPLE_RATE : int(3.5 * SAMPLE_RATE)])  # flac is lossless


# --------------------------------------------------------------------------- bad input
def _one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        check_audio(tmp_path / "nope.m4a", 30)
    assert _one_line(exc) == f"audio file not found: {tmp_path / 'nope.m4a'}"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        check_audio(tmp_path, 30)
    assert "is a directory, not an audio file" in _one_line(exc)


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    with pytest.raises(InputError) as exc:
        check_audio(empty, 30)
    assert _one_line(exc) == "audio file is empty (0 bytes): empty.wav"


def test_text_file_renamed_m4a(tmp_path: Path) -> None:
    fake = tmp_path / "notes.m4a"
    fake.write_text("make a video about coffee\n" * 20)
    with pytest.raises(InputError) as exc:
        check_audio(fake, 30)
    message = _one_line(exc)
    assert message.startswith("notes.m4a is not an audio file")
    assert str(tmp_path) not in message  # ffmpeg's own path prefix is trimmed


def test_png_renamed_m4a(tmp_path: Path) -> None:
    from PIL import Image

    fake = tmp_path / "cover.m4a"
    Image.new("RGB", (32, 32), "orange").save(fake, format="PNG")
    with pytest.raises(InputError) as exc:
        check_audio(fake, 30)
    assert _one_line(exc) == "cover.m4a is not an audio file (ffmpeg found no audio stream in it)"


def test_too_long_from_the_header(speech: Speech) -> None:
    with pytest.raises(InputError) as exc:
        check_audio(speech.short, max_minutes=0.05)  # 3 s
    message = _one_line(exc)
    assert message.startswith("short.wav is ")
    assert "long; the limit is 0.05 min (pipeline.max_audio_minutes)" in message
    seconds = len(pcm_of(speech.short)) / SAMPLE_RATE
    assert f"{seconds:.1f} s" in message


def test_too_long_when_the_header_has_no_duration(speech: Speech, monkeypatch: pytest.MonkeyPatch) -> None:
    real = audio.probe
    monkeypatch.setattr(audio, "probe", lambda p: audio.Probe(True, None, real(p).error))
    with pytest.raises(InputError) as exc:
        check_audio(speech.short, max_minutes=0.05)
    assert "is over 4.0 s long; the limit is 0.05 min" in _one_line(exc)


@pytest.mark.parametrize(
    ("clip", "reason"),
    [
        ("silence", "the audio is silent"),
        ("noise", "only a steady tone or noise"),
        ("tone", "only a steady tone or noise"),
    ],
)
def test_no_speech(speech: Speech, clip: str, reason: str) -> None:
    path = getattr(speech, clip)
    with pytest.raises(InputError) as exc:
        check_audio(path, 30)
    assert _one_line(exc) == f"no speech found in {path.name} ({reason})"


def test_beeps_are_not_speech() -> None:
    """Loudness that rises and falls is not enough: a beep's energy sits in one spectral peak."""
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    on = (t * 4) % 1 < 0.5
    hiss = np.random.default_rng(0).normal(0, 100, len(t))  # a room's floor: the gaps are not digital zero
    beeps = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t) * on + hiss).astype(np.int16)
    assert speech_problem(beeps) == "only tones, no voice"


def test_speech_passes_clean_and_noisy(speech: Speech) -> None:
    assert speech_problem(pcm_of(speech.brief)) is None
    assert speech_problem(pcm_of(speech.noisy)) is None


def test_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    locked = tmp_path / "locked.wav"
    subprocess.run(["sox", "-n", "-r", "16000", str(locked), "trim", "0", "1"], check=True)
    locked.chmod(0)
    with pytest.raises(InputError) as exc:
        check_audio(locked, 30)
    assert "locked.wav is not an audio file" in _one_line(exc)


# --------------------------------------------------------------------------- cutting at silences
def _bursts(layout: list[tuple[str, float]], seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Loud modulated noise ("talk") and digital silence ("gap") in the given order; returns the gaps."""
    rng = np.random.default_rng(seed)
    parts, gaps, t = [], [], 0.0
    for kind, seconds in layout:
        n = round(seconds * SAMPLE_RATE)
        if kind == "talk":
            env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * np.arange(n) / SAMPLE_RATE)
            parts.append((rng.normal(0, 6000, n) * env).clip(-32767, 32767).astype(np.int16))
        else:
            parts.append(np.zeros(n, dtype=np.int16))
            gaps.append((t, t + seconds))
        t += seconds
    return np.concatenate(parts), gaps


def _assert_covers(spans: list[tuple[float, float]], duration: float, max_chunk_s: float) -> None:
    assert spans[0][0] == 0.0
    assert spans[-1][1] == pytest.approx(duration)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start == end  # consecutive: no gap, no overlap
    for start, end in spans:
        assert 0 < end - start <= max_chunk_s + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_cuts_cover_everything_stay_short_and_fall_in_silences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    layout: list[tuple[str, float]] = []
    for _ in range(12):
        layout += [("talk", float(rng.uniform(1.0, 4.0))), ("gap", float(rng.uniform(0.4, 1.2)))]
    pcm, gaps = _bursts(layout, seed)
    duration = len(pcm) / SAMPLE_RATE
    max_chunk = 10.0
    spans = split_at_silences(pcm, SAMPLE_RATE, max_chunk, min_silence_s=0.3)
    _assert_covers(spans, duration, max_chunk)
    assert len(spans) >= duration / max_chunk
    for _, cut in spans[:-1]:
        assert any(lo <= cut <= hi for lo, hi in gaps), f"cut at {cut:.2f}s is not in a silence"


def test_cut_prefers_the_real_silence_over_a_quiet_word() -> None:
    pcm, gaps = _bursts([("talk", 6.0), ("gap", 0.5), ("talk", 6.0)])
    quiet = pcm.copy()
    quiet[SAMPLE_RATE * 8 : SAMPLE_RATE * 9] //= 20  # a soft passage later on, louder than silence
    spans = split_at_silences(quiet, SAMPLE_RATE, 10.0)
    assert len(spans) == 2
    assert gaps[0][0] <= spans[0][1] <= gaps[0][1]


def test_no_silence_at_all_still_respects_the_maximum() -> None:
    pcm, _ = _bursts([("talk", 25.0)])
    spans = split_at_silences(pcm, SAMPLE_RATE, 7.0)
    _assert_covers(spans, 25.0, 7.0)


def test_short_audio_is_one_span_and_empty_is_none() -> None:
    pcm, _ = _bursts([("talk", 3.0)])
    assert split_at_silences(pcm, SAMPLE_RATE, 10.0) == [(0.0, 3.0)]
    assert split_at_silences(np.zeros(0, dtype=np.int16), SAMPLE_RATE, 10.0) == []
    with pytest.raises(ValueError):
        split_at_silences(pcm, SAMPLE_RATE, 0)


def test_cuts_in_real_speech_fall_between_words(speech: Speech) -> None:
    pcm = pcm_of(speech.long)
    spans = split_at_silences(pcm, SAMPLE_RATE, 10.0)
    _assert_covers(spans, len(pcm) / SAMPLE_RATE, 10.0)
    for _, cut in spans[:-1]:
        i = round(cut * SAMPLE_RATE)
        around = pcm[i - 800 : i + 800].astype(np.float32) / 32768  # 100 ms centred on the cut
        assert 10 * np.log10(np.mean(around**2) + 1e-12) < -45, f"cut at {cut:.2f}s is inside speech"


def test_hiss_bursts_are_not_speech() -> None:
    """Bursts of high hiss rise and fall and have no spectral peak; the voice detector still says no."""
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    noise = rng.normal(0, 4000, len(t))
    hiss = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(len(t), 1 / SAMPLE_RATE) > 5000), n=len(t))
    bursts = hiss * ((t * 3) % 1 < 0.5) + rng.normal(0, 100, len(t))
    assert (
        speech_problem(bursts.clip(-32767, 32767).astype(np.int16))
        == "nothing a voice detector recognises as speech"
    )


# --------------------------------------------------------------------------- not a regular file, too big
@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not an audio file"),
        (lambda p: p.symlink_to("/dev/zero"), "(/dev/zero) is a character device, not an audio file"),
        (lambda p: p.symlink_to("/dev/urandom"), "(/dev/urandom) is a character device, not an audio file"),
    ],
    ids=["fifo", "zero", "urandom"],
)
def test_what_is_not_a_regular_file_is_refused_by_stat(tmp_path: Path, make, needle: str) -> None:
    path = tmp_path / "brief.wav"
    make(path)
    with pytest.raises(InputError) as exc:  # a FIFO would block an open(): this returns at once
        check_input_file(path)
    assert needle in _one_line(exc)


def test_a_dangling_symlink_says_where_it_points(tmp_path: Path) -> None:
    link = tmp_path / "brief.wav"
    link.symlink_to(tmp_path / "gone.wav")
    with pytest.raises(InputError) as exc:
        check_input_file(link)
    assert _one_line(exc).startswith(f"audio file not found: {link} (a symlink to ")


def test_a_file_past_the_size_bound_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.wav"
    with big.open("wb") as fh:
        fh.truncate(max_audio_bytes(0.1) + 1)  # sparse
    monkeypatch.setattr(audio, "_decode_report", lambda *a, **k: pytest.fail("decoded a refused file"))
    with pytest.raises(InputError) as exc:
        check_audio(big, max_minutes=0.1)
    assert "big.wav is " in _one_line(exc) and "(0.1 min at up to" in _one_line(exc)


# --------------------------------------------------------------------------- truncated and damaged audio
def _cut(src: Path, dest: Path, keep: int) -> Path:
    dest.write_bytes(src.read_bytes()[:keep])
    return dest


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac"])
def test_a_truncated_file_passes_with_a_warning(speech: Speech, tmp_path: Path, fmt: str) -> None:
    whole = speech.formats[fmt]
    size = whole.stat().st_size
    info = check_audio(_cut(whole, tmp_path / f"cut.{fmt}", size // 2), 30)
    full_s = len(pcm_of(whole)) / SAMPLE_RATE
    w = info.warning
    assert w is not None and w.message.startswith("the audio ended early: only ")
    assert w.decoded_s == pytest.approx(info.duration_s, abs=0.01)
    assert w.decoded_s < 0.7 * full_s and w.declared_s == pytest.approx(full_s, abs=0.2)


def test_a_wav_cut_on_a_packet_boundary_is_told_by_its_header(speech: Speech, tmp_path: Path) -> None:
    """ffmpeg says nothing about this one: only the header's data size tells the file ended early."""
    info = check_audio(_cut(speech.formats["wav"], tmp_path / "cut.wav", 44 + 4096 * 20), 30)
    assert info.warning is not None and "ended early" in info.warning.message
    assert info.warning.decode_errors == 0


def test_an_mp3_damaged_in_the_middle_says_so(speech: Speech, tmp_path: Path) -> None:
    data = speech.formats["mp3"].read_bytes()
    third = len(data) // 3
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(data[:third] + bytes(4000) + data[third + 4000 :])
    info = check_audio(broken, 30)
    assert info.warning is not None and info.warning.decode_errors >= 1
    assert "ffmpeg reported" in info.warning.message and "decoding error(s)" in info.warning.message


def test_whole_files_have_no_warning(speech: Speech, tmp_path: Path) -> None:
    piped = tmp_path / "piped.wav"  # a streaming writer: no sizes in the header, a short last packet
    with piped.open("wb") as fh:
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", str(speech.short), "-f", "wav", "pipe:1"],
            stdout=fh,
            check=True,
        )
    assert wav_declared_seconds(piped) is None
    for path in [*speech.formats.values(), speech.brief, speech.noisy, piped]:
        assert check_audio(path, 30).warning is None, path


def test_a_wav_with_only_its_header_is_damaged_not_silent(speech: Speech, tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        check_audio(_cut(speech.formats["wav"], tmp_path / "h.wav", 44), 30)
    assert _one_line(exc).startswith("h.wav is damaged: nothing in it could be decoded (its header declares")


def test_the_transcript_carries_the_warning(speech: Speech, tmp_path: Path) -> None:
    from storyreel.services.transcribe.recognize import transcribe
    from storyreel.shared.settings import TranscriptionConfig

    from testkit.fakes import FakeTranscriber

    cut = _cut(speech.formats["wav"], tmp_path / "cut.wav", speech.formats["wav"].stat().st_size // 2)
    transcript = transcribe(cut, TranscriptionConfig(), 30, FakeTranscriber())
    assert transcript.audio_warning is not None and "ended early" in transcript.audio_warning.message
