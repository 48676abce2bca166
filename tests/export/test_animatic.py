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
    size = animatic.SIZES[aspect]
    assert animatic.render(shots, dest, fps=24, size=size, work=work) == 15
    video = _video(ffprobe(dest))
    assert (video["width"], video["height"]) == size
    assert int(video["nb_read_frames"]) == 15
