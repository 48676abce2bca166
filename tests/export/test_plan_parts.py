"""The pure parts of an export: whole-frame timing, camera notes and transitions, captions."""

from __future__ import annotations

import re

import pytest
from storyreel.services.export.captions import LINE_CHARS, cues, srt
from storyreel.services.export.moves import camera_move, transition
from storyreel.services.export.step import frame_size, platform_aspect
from storyreel.services.export.timing import scene_frames, starts
from storyreel.shared.errors import UserError


@pytest.mark.parametrize("fps", [24, 25, 30])
@pytest.mark.parametrize(
    "durations", [[6.0, 5.4, 5.5, 7.0, 6.1], [1.3, 0.9, 1.25, 1.1, 1.45], [0.33] * 10, [12.7, 11.8, 0.1]]
)
def test_scene_frames_sum_to_the_plan_rounded_once(durations: list[float], fps: int) -> None:
    frames = scene_frames(durations, fps)
    assert sum(frames) == round(sum(durations) * fps)
    for n, d in zip(frames, durations, strict=True):
        assert abs(n - d * fps) <= 1  # no scene drifts by a frame or more
    assert starts(frames)[1:] == [sum(frames[:i]) for i in range(1, len(frames))]


def test_a_scene_shorter_than_a_frame_is_refused() -> None:
    with pytest.raises(UserError, match=r"scene 2 lasts 0\.01 s, less than one frame at 24 fps"):
        scene_frames([1.0, 0.01], 24)


@pytest.mark.parametrize(
    ("note", "move"),
    [
        ("close-up, slow push-in", "push_in"),
        ("slow zoom in on the cup", "push_in"),
        ("medium shot, dolly out", "pull_out"),
        ("pull back to reveal the city", "pull_out"),
        ("wide shot, pan left", "pan_left"),
        ("medium shot, tracking right", "pan_right"),
        ("wide shot, handheld follow right", "pan_right"),
        ("wide shot, slow orbit left", "pan_left"),
        ("close-up, crane up", "tilt_up"),
        ("tilt down to the table", "tilt_down"),
        ("medium shot, locked-off static", "static"),
        ("", "static"),
    ],
)
def test_camera_notes_become_moves(note: str, move: str) -> None:
    assert camera_move(note) == move


@pytest.mark.parametrize(
    ("text", "kind", "known"),
    [
        ("cut", "cut", True),
        ("match cut", "cut", True),
        ("smash cut to black", "cut", True),
        ("dissolve", "dissolve", True),
        ("crossfade", "dissolve", True),
        ("cross-dissolve", "dissolve", True),
        ("fade to end card", "fade_black", True),
        ("wipe", "wipe", True),
        ("whip pan", "slide", True),
        ("", "cut", True),
        ("a surprise", "cut", False),
    ],
)
def test_transitions_as_drawn(text: str, kind: str, known: bool) -> None:
    t = transition(text)
    assert (t.kind, t.known) == (kind, known)


@pytest.mark.parametrize(
    ("platform", "aspect"),
    [
        ("TikTok", "9:16"),
        ("Instagram Reels", "9:16"),
        ("YouTube Shorts", "9:16"),
        ("YouTube", "16:9"),
        ("Instagram", "1:1"),
        ("LinkedIn", "16:9"),
        (None, None),
        ("a billboard", None),
    ],
)
def test_platform_aspects(platform: str | None, aspect: str | None) -> None:
    assert platform_aspect(platform) == aspect


def test_frame_sizes_are_1080p_class() -> None:
    assert frame_size("9:16", "1080p") == (1080, 1920)
    assert frame_size("16:9", "1080p") == (1920, 1080)
    assert frame_size("1:1", "1080p") == (1080, 1080)
    assert frame_size("9:16", "360p") == (360, 640)


def test_captions_cover_each_scene_in_two_line_cues() -> None:
    long = " ".join(f"word{i}" for i in range(40))
    frames = [48, 30, 24]
    cue_list = cues([long, "", "short line"], frames)
    assert all(len(c.text.split("\n")) <= 2 for c in cue_list)
    assert all(len(line) <= LINE_CHARS for c in cue_list for line in c.text.split("\n"))
    first = [c for c in cue_list if c.end <= 48]
    assert " ".join(" ".join(c.text.split()) for c in first) == long  # every word, in order
    assert first[0].start == 0 and first[-1].end == 48
    last = cue_list[-1]
    assert (last.start, last.end, last.text) == (78, 102, "short line")
    text = srt(cue_list, 24)
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", text)
    assert len(stamps) == len(cue_list)
    assert stamps[-1][4:] == ("00", "00", "04", "250")  # frame 102 at 24 fps
