"""animatic.mp4 read with ffprobe: the scenes' planned lengths in whole frames (the total exactly), H.264
yuv420p with the moov atom first, the platform's frame, the brief's audio trimmed or padded to the video,
captions beside it or burned in, a scene's clip used instead of its stills. Small encodes (360p, 6 s), except
the 1080p sizes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest
from PIL import Image, ImageChops, ImageStat
from storyreel.services.export import animatic
from storyreel.services.export.step import ExportOptions, export
from storyreel.services.export.timing import SIZES
from storyreel.shared.contracts import Clip, ClipStatus
from storyreel.shared.stores import LocalBlobStore

from testkit.fakes import make_context, png
from tests.export.conftest import Finished, ffprobe, tool

DURATIONS = [1.3, 0.9, 1.25, 1.1, 1.45]  # 6.0 s; at 24 fps 31+22+30+26+35 frames


def _ctx(run: Finished):
    return make_context(run.folder.parent.parent, blobs=LocalBlobStore(run.folder.parent))


def _short(run: Finished) -> None:
    board = run.board()
    for scene, d in zip(board.scenes, DURATIONS, strict=True):
        scene.duration = d
    run.save(board)


def _video(probe: dict) -> dict:
    return next(s for s in probe["streams"] if s["codec_type"] == "video")


def _frame(mp4: Path, index: int, dest: Path) -> Image.Image:
    subprocess.run(
        [
            tool("ffmpeg"),
            "-v",
            "error",
            "-y",
            "-i",
            str(mp4),
            "-vf",
            f"select=eq(n\\,{index})",
            "-frames:v",
            "1",
            str(dest),
        ],
        check=True,
    )
    return Image.open(dest).convert("RGB")


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_length_is_the_plan_in_whole_frames(finished: Finished, fps: int) -> None:
    _short(finished)
    result = export(_ctx(finished), ExportOptions(formats=["mp4"], fps=fps, size="360p"))  # type: ignore[arg-type]
    assert result.written == ["animatic.mp4", "animatic.srt"]
    mp4 = finished.exports / "animatic.mp4"
    probe = ffprobe(mp4)
    video = _video(probe)
    total = round(sum(DURATIONS) * fps)
    assert int(video["nb_read_frames"]) == total == result.frames
    assert video["r_frame_rate"] == f"{fps}/1"
    assert float(video["duration"]) == pytest.approx(total / fps, abs=1e-3)
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (360, 640)  # the run's platform is TikTok: 9:16
    assert [s["codec_type"] for s in probe["streams"]] == ["video"]  # --audio none
    head = mp4.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")  # +faststart: the index before the media
    srt = (finished.exports / "animatic.srt").read_text()
    board = finished.board()
    assert " ".join(board.scenes[0].narration.split()[:3]) in " ".join(srt.split())


@pytest.mark.parametrize("audio_s", [1.0, 12.0])
def test_the_briefs_audio_is_padded_or_trimmed_to_the_video(finished: Finished, audio_s: float) -> None:
    _short(finished)
    wav = finished.folder / "audio" / "brief.wav"
    wav.parent.mkdir()
    subprocess.run(
        [
            tool("ffmpeg"),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={audio_s}",
            str(wav),
        ],
        check=True,
    )
    export(_ctx(finished), ExportOptions(formats=["mp4"], audio="brief", size="360p", captions="none"))
    probe = ffprobe(finished.exports / "animatic.mp4")
    audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert audio["codec_name"] == "aac"
    assert float(audio["duration"]) == pytest.approx(sum(DURATIONS), abs=0.05)
    assert int(_video(probe)["nb_read_frames"]) == round(sum(DURATIONS) * 24)
    assert not (finished.exports / "animatic.srt").exists()


def test_audio_brief_without_audio_is_refused(finished: Finished) -> None:
    _short(finished)
    result = export(_ctx(finished), ExportOptions(formats=["mp4", "edl"], audio="brief", size="360p"))
    assert "keeps no audio" in result.refused["mp4"]
    assert "timeline.edl" in result.written  # the others are still made
    assert not any(name.startswith("animatic") for name in result.written)


def test_audio_brief_of_a_typed_brief_is_refused(finished: Finished) -> None:
    _short(finished)
    (finished.folder / "audio").mkdir()
    (finished.folder / "audio" / "meeting.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nhello\n")
    result = export(_ctx(finished), ExportOptions(formats=["mp4"], audio="brief", size="360p"))
    assert "keeps no audio" in result.refused["mp4"]  # the transcript is not muxed as sound


def test_burned_captions_are_drawn_on_the_frames(finished: Finished, tmp_path: Path) -> None:
    _short(finished)
    ctx = _ctx(finished)
    export(ctx, ExportOptions(formats=["mp4"], size="360p", captions="none", aspect="16:9"))
    plain = _frame(finished.exports / "animatic.mp4", 12, tmp_path / "plain.png")
    export(ctx, ExportOptions(formats=["mp4"], size="360p", captions="burn", aspect="16:9"))
    burned = _frame(finished.exports / "animatic.mp4", 12, tmp_path / "burned.png")
    assert plain.size == burned.size == (640, 360)
    # Count the pixels whose brightness changed strongly (by more than 64 of 255). The encoder's own noise
    # moves a pixel by a few levels, and the text shifts the rate control's choices all over the frame, so a
    # mean difference is not a fair test; the glyphs' white fill and dark outline are.
    strong = ImageChops.difference(plain, burned).convert("L").point(lambda v: 255 if v > 64 else 0)
    bottom = strong.crop((0, 270, 640, 360)).histogram()[255]
    top = strong.crop((0, 0, 640, 90)).histogram()[255]
    print(f"strongly changed pixels: bottom {bottom}, top {top}")
    assert bottom > 500  # a line of 20 px text across the bottom band
    assert top <= bottom // 50  # the rest is the same picture


def test_a_prompts_only_run_refuses_the_mp4_and_exports_the_rest(prompts_only: Finished) -> None:
    result = export(_ctx(prompts_only), ExportOptions())
    assert set(result.refused) == {"mp4"}
    assert "no rendered keyframe" in result.refused["mp4"]
    assert {"storyboard.pdf", "timeline.otio", "timeline.otioz", "timeline.xml", "timeline.edl"} <= set(
        result.written
    )
    assert not (prompts_only.exports / "animatic.mp4").exists()


def test_a_scenes_clip_is_used_instead_of_its_stills(finished: Finished, tmp_path: Path) -> None:
    _short(finished)
    clip = finished.folder / "clips" / "s1.mp4"
    clip.parent.mkdir()
    subprocess.run(
        [
            tool("ffmpeg"),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=160x90:r=10:d=0.8",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    board = finished.board()
    board.scenes[0].clip = Clip(status=ClipStatus.done, video_key="clips/s1.mp4", seconds=0.8)
    board.scenes[1].clip = Clip(status=ClipStatus.failed, reason="vendor said no")  # not done: stills
    finished.save(board)
    result = export(_ctx(finished), ExportOptions(formats=["mp4", "otio"], size="360p", fps=25))
    mp4 = finished.exports / "animatic.mp4"
    assert int(_video(ffprobe(mp4))["nb_read_frames"]) == round(sum(DURATIONS) * 25)
    for index in (0, 10, 30):  # the clip (0.8 s at 25 fps = 20 frames) re-timed, then its last frame held
        r, g, b = ImageStat.Stat(_frame(mp4, index, tmp_path / f"f{index}.png")).mean
        assert r > 180 and g < 60 and b < 60, index
    r, g, b = ImageStat.Stat(_frame(mp4, 40, tmp_path / "s2.png")).mean  # scene 2: its sketch still
    assert not (r > 180 and g < 60 and b < 60)
    assert "media/s1-clip.mp4" in result.written
    tl = otio.adapters.read_from_file(str(finished.exports / "timeline.otio"))
    urls = [c.media_reference.target_url for c in tl.find_clips()]
    assert urls[0] == "media/s1-clip.mp4" and urls[1] == "media/s2-start.png"
    assert (finished.exports / urls[0]).is_file()


@pytest.mark.parametrize("aspect", ["9:16", "16:9", "1:1"])
def test_1080p_class_frames(tmp_path: Path, aspect: str) -> None:
    still = tmp_path / "still.png"
    still.write_bytes(png("#336699", (320, 180)))
    other = tmp_path / "other.png"
    other.write_bytes(png("#993366", (180, 320)))
    shots = [
        animatic.Shot(8, still, other, "push_in", "dissolve"),
        animatic.Shot(7, other, None, "pan_left", "fade_black"),
    ]
    work = tmp_path / "work"
    work.mkdir()
    dest = tmp_path / "a.mp4"
    size = SIZES[aspect]
    assert animatic.render(shots, dest, fps=24, size=size, work=work) == 15
    video = _video(ffprobe(dest))
    assert (video["width"], video["height"]) == size
    assert int(video["nb_read_frames"]) == 15


# --------------------------------------------------------------------------- the frames themselves
SMALL = (320, 180)


def _render(tmp_path: Path, shots: list[animatic.Shot], notes: list[str] | None = None) -> Path:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    dest = tmp_path / "a.mp4"
    assert animatic.render(shots, dest, fps=24, size=SMALL, work=work, notes=notes) == sum(
        s.frames for s in shots
    )
    return dest


def _mean(mp4: Path, index: int, tmp_path: Path, box: tuple[int, int, int, int] | None = None) -> list[float]:
    image = _frame(mp4, index, tmp_path / f"m{index}.png")
    return ImageStat.Stat(image.crop(box) if box else image).mean


def _still(tmp_path: Path, name: str, color: str) -> Path:
    path = tmp_path / f"{name}.png"
    path.write_bytes(png(color, (640, 360)))
    return path


def test_moves_follow_the_camera_note(tmp_path: Path) -> None:
    ramp = tmp_path / "ramp.png"  # dark on the left, bright on the right
    Image.linear_gradient("L").rotate(90).resize((640, 360)).save(ramp)
    target = tmp_path / "target.png"  # a white square in the middle of black
    picture = Image.new("L", (640, 360), 0)
    picture.paste(255, (160, 90, 480, 270))
    picture.save(target)
    for move, still, sign in (
        ("pan_right", ramp, 1),
        ("pan_left", ramp, -1),
        ("push_in", target, 1),
        ("pull_out", target, -1),
    ):
        mp4 = _render(tmp_path, [animatic.Shot(24, still, None, move, "cut")])  # type: ignore[arg-type]
        first, last = _mean(mp4, 0, tmp_path)[0], _mean(mp4, 23, tmp_path)[0]
        print(move, first, last)
        assert sign * (last - first) > 8, (move, first, last)  # brighter as the view moves right / closes in
    mp4 = _render(tmp_path, [animatic.Shot(24, ramp, None, "static", "cut")])
    assert _mean(mp4, 0, tmp_path)[0] == pytest.approx(_mean(mp4, 23, tmp_path)[0], abs=1)


def test_a_shot_crossfades_from_its_start_to_its_end_keyframe(tmp_path: Path) -> None:
    red, blue = _still(tmp_path, "red", "#dd2222"), _still(tmp_path, "blue", "#2222dd")
    mp4 = _render(tmp_path, [animatic.Shot(30, red, blue, "static", "cut")])
    r0, _, b0 = _mean(mp4, 0, tmp_path)
    rm, _, bm = _mean(mp4, 15, tmp_path)  # the middle third is the crossfade
    r1, _, b1 = _mean(mp4, 29, tmp_path)
    assert r0 > 180 and b0 < 70 and b1 > 180 and r1 < 70
    assert 70 < rm < 180 and 70 < bm < 180


@pytest.mark.parametrize("kind", ["cut", "dissolve", "fade_black", "wipe"])
def test_transitions_are_drawn_as_planned(tmp_path: Path, kind: str) -> None:
    red, blue = _still(tmp_path, "red", "#dd2222"), _still(tmp_path, "blue", "#2222dd")
    # 12 + 12 frames; a drawn transition overlaps by 6 (half the shorter shot), frames 12-17
    mp4 = _render(
        tmp_path,
        [animatic.Shot(12, red, None, "static", kind), animatic.Shot(12, blue, None, "static", "cut")],  # type: ignore[arg-type]
    )
    assert int(_video(ffprobe(mp4))["nb_read_frames"]) == 24
    r, g, b = _mean(mp4, 15, tmp_path)  # the transition's middle (t = 0.5)
    left = _mean(mp4, 15, tmp_path, (0, 0, 140, 180))
    right = _mean(mp4, 15, tmp_path, (180, 0, 320, 180))
    if kind == "cut":
        assert _mean(mp4, 11, tmp_path)[0] > 180 and b > 180 and r < 70
    elif kind == "dissolve":
        assert 70 < r < 180 and 70 < b < 180
    elif kind == "fade_black":
        assert r < 40 and g < 40 and b < 40
    else:  # the next shot uncovered from the right
        assert left[0] > 180 and left[2] < 70 and right[2] > 180 and right[0] < 70
    assert _mean(mp4, 20, tmp_path)[2] > 180  # the second shot after the transition


def test_the_last_shot_fades_out_unless_it_cuts(tmp_path: Path) -> None:
    red = _still(tmp_path, "red", "#dd2222")
    assert (
        _mean(_render(tmp_path, [animatic.Shot(24, red, None, "static", "dissolve")]), 23, tmp_path)[0] < 30
    )
    assert _mean(_render(tmp_path, [animatic.Shot(24, red, None, "static", "cut")]), 23, tmp_path)[0] > 180


def test_a_clip_that_does_not_decode_falls_back_to_the_stills_and_says_so(tmp_path: Path) -> None:
    red = _still(tmp_path, "red", "#dd2222")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 100)
    notes: list[str] = []
    mp4 = _render(tmp_path, [animatic.Shot(12, red, None, "static", "cut", clip=broken)], notes)
    assert len(notes) == 1 and "scene 1's clip does not decode" in notes[0] and "shows the stills" in notes[0]
    assert _mean(mp4, 6, tmp_path)[0] > 180


def test_a_failed_clip_is_named_in_the_export_notes(finished: Finished) -> None:
    _short(finished)
    board = finished.board()
    board.scenes[1].clip = Clip(status=ClipStatus.failed, reason="vendor said no")
    finished.save(board)
    result = export(_ctx(finished), ExportOptions(formats=["mp4"], size="360p", captions="none"))
    assert any("scene 2's clip failed (vendor said no); it shows the stills" in n for n in result.notes)
