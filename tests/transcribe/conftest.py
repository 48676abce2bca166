"""Speech made at test time: espeak-ng (scripts/speak.sh, the project's one voice), converted with ffmpeg,
noise mixed in with sox. Made once per session; every clip's text is known, so recall can be measured."""

from __future__ import annotations

import shutil

import pytest
from speechkit import FIRST_TEXT, FORMATS, GAP_S, SECOND_TEXT, SHORT_TEXT, Speech, convert, pcm_of, run, speak


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    for tool in ("espeak-ng", "ffmpeg", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `make sysdeps` (scripts/install-sysdeps.sh)")
    d = tmp_path_factory.mktemp("speech")
    short = speak(SHORT_TEXT, d / "short.wav")
    formats = {fmt: convert(short, fmt) for fmt in FORMATS if fmt != "wav"}
    formats["wav"] = short
    brief = speak(FIRST_TEXT, d / "brief.wav")
    second = speak(SECOND_TEXT, d / "second.wav")

    noisy = d / "noisy.wav"
    duration = len(pcm_of(brief)) / 16000
    run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(d / "wn.wav"), "synth", f"{duration}",
          "whitenoise", "vol", "0.02"])  # fmt: skip
    run(["sox", "-m", str(brief), str(d / "wn.wav"), str(noisy)])

    long = d / "long.wav"
    first_s = len(pcm_of(brief)) / 16000
    gap = d / "gap.wav"
    run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(gap), "trim", "0", f"{GAP_S}"])
    run(["sox", str(brief), str(gap), str(second), str(long)])

    silence = d / "silence.wav"
    run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", "4"])
    noise = d / "noise.wav"
    run(
        [
            "sox",
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(noise),
            "synth",
            "4",
            "pinknoise",
            "vol",
            "0.3",
        ]
    )
    tone = d / "tone.wav"
    run(
        [
            "sox",
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(tone),
            "synth",
            "4",
            "sine",
            "440",
            "vol",
            "0.5",
        ]
    )
    return Speech(
        short=short,
        formats=formats,
        brief=brief,
        noisy=noisy,
        long=long,
        second_offset_s=first_s + GAP_S,
        silence=silence,
        noise=noise,
        tone=tone,
    )
