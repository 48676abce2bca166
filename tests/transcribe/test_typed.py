"""Typed briefs and meeting transcripts (services/transcribe/typed.py): read, not recognised; times and speakers
kept in transcript.json; every bad input one line (CLI exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyreel.services.transcribe.typed import MAX_TYPED_BYTES, read_typed
from storyreel.shared.contracts import Segment, Transcript
from storyreel.shared.errors import InputError

from storyreel.cli import cli as app

VTT = """WEBVTT

NOTE a meeting about the roastery video

00:00:01.000 --> 00:00:04.000
<v Ana Lopez>We want a thirty second Instagram video about our coffee roastery.</v>

00:00:04.500 --> 00:00:07.250
<v.loud Ben>Warm amber light, slow shots of the roaster.

00:00:08.000 --> 00:00:10.000
Chris: and end on the logo with acoustic guitar
"""
SRT = """1
00:00:01,000 --> 00:00:02,500
Ana: Show the beans first.

2
00:00:03,000 --> 00:00:04,000
<i>then the pour</i>
"""
MEETING = "Ana: We want a video about the roastery.\nBen: Thirty seconds, warm colours.\nAna: Agreed.\n"
BRIEF_MD = "# Roastery video\n\n- thirty seconds\n- warm light\n\nNote: keep it calm.\n"


def seg(t: Transcript) -> list[tuple[float, float, str | None, str]]:
    return [(s.start, s.end, s.speaker, s.text) for s in t.segments]


def test_webvtt_keeps_cue_times_and_voices() -> None:
    t = read_typed("meeting.vtt", VTT.encode())
    assert seg(t) == [
        (1.0, 4.0, "Ana Lopez", "We want a thirty second Instagram video about our coffee roastery."),
        (4.5, 7.25, "Ben", "Warm amber light, slow shots of the roaster."),
        (8.0, 10.0, "Chris", "and end on the logo with acoustic guitar"),
    ]
    assert t.provider == "typed" and t.timed and t.duration_s == 10.0
    assert "Ana Lopez" not in t.text and t.text.startswith("We want a thirty second")
    assert t.selection == "typed brief: meeting.vtt (vtt, 3 speaker(s), no speech recognition)"


def test_srt_keeps_times_speakers_and_drops_markup() -> None:
    t = read_typed("call.srt", SRT.encode())
    assert seg(t) == [(1.0, 2.5, "Ana", "Show the beans first."), (3.0, 4.0, None, "then the pour")]


def test_name_lines_are_speakers_and_a_plain_brief_stays_plain() -> None:
    meeting = read_typed("notes.txt", MEETING.encode())
    assert [(s.speaker, s.text) for s in meeting.segments] == [
        ("Ana", "We want a video about the roastery."),
        ("Ben", "Thirty seconds, warm colours."),
        ("Ana", "Agreed."),
    ]
    assert not meeting.timed and meeting.duration_s == 0.0
    brief = read_typed("brief.md", ("\ufeff" + BRIEF_MD).encode())  # a BOM is not text
    assert [s.text for s in brief.segments] == [
        "Roastery video",
        "thirty seconds",
        "warm light",
        "Note: keep it calm.",
    ]
    assert all(s.speaker is None for s in brief.segments)  # one "Note:" line is not a meeting


def test_json_takes_a_transcript_or_text() -> None:
    given = Transcript(
        text="hi there",
        language="de",
        duration_s=2.0,
        segments=[Segment(start=0.0, end=2.0, text="hi there", speaker="Ana")],
    )
    t = read_typed("t.json", given.model_dump_json().encode())
    assert t.provider == "typed" and t.language == "de" and seg(t) == [(0.0, 2.0, "Ana", "hi there")]
    plain = read_typed("t.json", json.dumps({"text": MEETING}).encode(), language="en")
    assert [s.speaker for s in plain.segments] == ["Ana", "Ben", "Ana"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("brief.txt", b"", "brief.txt is empty: there is no brief in it"),
        ("brief.md", b"  \n\n ", "brief.md is empty: there is no brief in it"),
        (
            "brief.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "brief.txt is not a text file (it holds binary data)",
        ),
        ("brief.txt", b"caf\xe9 latte", "brief.txt is not UTF-8 text (byte 3 cannot be read)"),
        ("m.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:0x:04.000\nbroken\n", "m.vtt is not valid WebVTT"),
        ("m.vtt", b"no header\n\n00:00:01.000 --> 00:00:02.000\nhi\n", "m.vtt is not valid WebVTT"),
        ("m.vtt", b"WEBVTT\n", "m.vtt is WebVTT with no cues in it"),
        ("m.srt", b"1\n00:00:01,000 --> nonsense\nhi\n", "m.srt is not valid SubRip"),
        (
            "m.srt",
            b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:03,000 --> later\nlost\n",
            "m.srt is not valid SubRip",
        ),
        ("t.json", b"{not json", "t.json is not valid JSON"),
        ("t.json", b'{"words": []}', 't.json is neither a Transcript nor {"text": "..."}'),
        ("big.txt", b"a" * (MAX_TYPED_BYTES + 1), "big.txt is over 4 MiB"),
    ],
)
def test_bad_input_is_one_line(name: str, data: bytes, message: str) -> None:
    with pytest.raises(InputError) as err:
        read_typed(name, data)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- through the CLI
def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_storyreel_run_on_a_meeting_vtt_skips_recognition_and_keeps_speakers(tmp_path: Path) -> None:
    brief = tmp_path / "meeting.vtt"
    brief.write_text(VTT)
    code, out, err = invoke(
        "run", str(brief), "--preset", "preview", "--out", str(tmp_path / "runs"), "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    folder = Path(summary["output_dir"])
    transcript = json.loads((folder / "transcript.json").read_text())
    assert transcript["provider"] == "typed"
    assert [s["speaker"] for s in transcript["segments"]] == ["Ana Lopez", "Ben", "Chris"]
    assert [s["start"] for s in transcript["segments"]] == [1.0, 4.5, 8.0]
    record = json.loads((folder / "run.json").read_text())
    assert record["stages"]["transcribe"]["detail"] == "typed brief (vtt), 3 segments, 3 speakers"
    assert "transcriber=" not in record["stages"]["setup"]["detail"]  # no recogniser was built


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty.txt is empty"),
        (
            "broken.vtt",
            b"WEBVTT\n\n00:00:01.000 --> 00:0x:04.000\nbroken\n",
            "broken.vtt is not valid WebVTT",
        ),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt is not a text file"),
        ("huge.md", b"word " * (MAX_TYPED_BYTES // 5 + 1), "huge.md is over 4 MiB"),
    ],
)
def test_bad_typed_input_exits_2_with_one_line(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = invoke("run", str(path), "--preset", "preview", "--out", str(tmp_path / "runs"))
    assert code == 2
    [line] = [ln for ln in err.splitlines() if ln.startswith("storyreel: error:")]
    assert message in line


class MemoryBlobs:
    """A blob store with no local paths (as S3 in the cloud): the step reads the typed brief's bytes."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.data[key] = data
        return key

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        return self.data[key]

    def exists(self, key: str) -> bool:
        return key in self.data

    def list(self, prefix: str) -> list[str]:
        return [k for k in self.data if k.startswith(prefix)]

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def uri(self, key: str) -> str:
        return f"mem://{key}"


def test_the_step_reads_a_typed_upload_from_a_store_without_local_paths(tmp_path: Path) -> None:
    from storyreel.services.transcribe import step as transcribe_step
    from storyreel.services.transcribe.step import typed_too_big

    from testkit.fakes import make_context

    blobs = MemoryBlobs()
    ctx = make_context(tmp_path, blobs=blobs)
    blobs.put_bytes(ctx.key("audio.srt"), SRT.encode())
    t = transcribe_step.run(ctx, ctx.key("audio.srt"))
    assert seg(t)[0] == (1.0, 2.5, "Ana", "Show the beans first.")
    assert Transcript.model_validate_json(blobs.get_bytes(ctx.key("transcript.json"))) == t
    assert transcribe_step.describe(t) == "typed brief (srt), 2 segments, 1 speaker"
    # intake's bound on an upload, before it is copied
    assert typed_too_big("brief.vtt", MAX_TYPED_BYTES) is None
    assert typed_too_big("brief.wav", MAX_TYPED_BYTES * 10) is None  # audio has its own bound
    assert typed_too_big("brief.vtt", MAX_TYPED_BYTES + 1) == (
        "brief.vtt is over 4 MiB, the most a typed brief or meeting transcript may take"
    )
