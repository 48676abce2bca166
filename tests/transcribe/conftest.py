"""Speech made at test time: espeak-ng (scripts/speak.sh, the project's one voice), converted with ffmpeg,
noise mixed in with sox. Made once per session; every clip's text is known, so recall can be measured."""

from __future__ import annotations

import shutil
from pathlib import Path

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

    def made(name: str, *effect: str) -> Path:
        """A 16 kHz mono 16-bit file made by sox from nothing plus `effect` (synth ..., trim ...)."""
        path = d / name
        run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), *effect])
        return path

    first_s = len(pcm_of(brief)) / 16000
    noisy = d / "noisy.wav"
    run(
        [
            "sox",
            "-m",
            str(brief),
            str(made("wn.wav", "synth", f"{first_s}", "whitenoise", "vol", "0.02")),
            str(noisy),
        ]
    )
    long = d / "long.wav"
    run(["sox", str(brief), str(made("gap.wav", "trim", "0", f"{GAP_S}")), str(second), str(long)])
    silence = made("silence.wav", "trim", "0", "4")
    noise = made("noise.wav", "synth", "4", "pinknoise", "vol", "0.3")
    tone = made("tone.wav", "synth", "4", "sine", "440", "vol", "0.5")
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
