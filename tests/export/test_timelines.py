"""Editor timelines read back with OpenTimelineIO's own adapters: one clip per scene, whole frames at the fps,
the total the storyboard's; the otioz holds its media; FCP7 XML names the frame; the EDL's reels fit CMX3600."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import opentimelineio as otio
import pytest
from storyreel.services.export.step import ExportOptions, FolderDestination, export
from storyreel.services.export.timeline import read
from storyreel.services.export.timing import scene_frames
from storyreel.shared.stores import LocalBlobStore

from testkit.fakes import make_context
from tests.export.conftest import Finished

FILES = {"otio": "timeline.otio", "otioz": "timeline.otioz", "fcpxml": "timeline.xml", "edl": "timeline.edl"}


def _ctx(run: Finished):
    return make_context(run.folder.parent.parent, blobs=LocalBlobStore(run.folder.parent))


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_every_timeline_reads_back_with_one_clip_per_scene_and_the_boards_length(
    finished: Finished, fps: int
) -> None:
    result = export(_ctx(finished), ExportOptions(formats=list(FILES), fps=fps))
    assert set(FILES.values()) <= set(result.written)
    board = finished.board()
    frames = scene_frames([s.duration for s in board.scenes], fps)
    for fmt, name in FILES.items():
        tl = read(finished.exports / name, fmt, fps)  # type: ignore[arg-type]
        clips = tl.find_clips()
        assert len(clips) == len(board.scenes), fmt
        assert tl.duration() == otio.opentime.RationalTime(sum(frames), fps), fmt
        assert [c.duration().value for c in clips] == frames, fmt
        assert all(c.duration().rate == fps for c in clips), fmt
        assert len(tl.video_tracks()) == 1, fmt
        # a marker with the scene's text on every clip
        for clip, scene in zip(clips, board.scenes, strict=True):
            assert clip.markers, fmt
            assert (
                clip.markers[0].name.lower().startswith(f"s{scene.index} {scene.description[:20].lower()}")
            ), fmt


def test_stills_carry_an_available_range_and_relative_paths(finished: Finished) -> None:
    export(_ctx(finished), ExportOptions(formats=["otio"]))
    tl = otio.adapters.read_from_file(str(finished.exports / "timeline.otio"))
    board = finished.board()
    for clip, scene in zip(tl.find_clips(), board.scenes, strict=True):
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert ref.target_url == f"media/s{scene.index}-start.png"
        assert (finished.exports / ref.target_url).is_file()  # relative to the .otio's folder
        assert ref.available_range is not None
        assert ref.available_range.duration == clip.source_range.duration


def test_the_otioz_holds_its_media(finished: Finished, tmp_path: Path) -> None:
    export(_ctx(finished), ExportOptions(formats=["otioz"]))
    with zipfile.ZipFile(finished.exports / "timeline.otioz") as z:
        z.extractall(tmp_path / "unzipped")
    tl = otio.adapters.read_from_file(str(tmp_path / "unzipped" / "content.otio"))
    urls = [c.media_reference.target_url for c in tl.find_clips()]
    assert len(urls) == 5
    for url in urls:
        assert not url.startswith("file:")
        path = tmp_path / "unzipped" / url
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fcp_xml_names_the_frame_and_points_at_files_that_exist(finished: Finished) -> None:
    export(_ctx(finished), ExportOptions(formats=["fcpxml"], fps=25, aspect="9:16"))
    root = ET.parse(finished.exports / "timeline.xml").getroot()
    sample = root.find(".//sequence/media/video/format/samplecharacteristics")
    assert sample is not None
    assert (sample.findtext("width"), sample.findtext("height")) == ("1080", "1920")
    assert sample.findtext("rate/timebase") == "25"
    assert root.findtext(".//sequence/rate/timebase") == "25"
    urls = [e.text or "" for e in root.iter("pathurl")]
    assert len(urls) == 5
    for url in urls:  # absolute file URLs: Premiere and Resolve do not resolve relative ones
        assert url.startswith("file:///")
        assert Path(url.removeprefix("file://")).is_file()


def test_the_edl_has_one_track_and_short_reel_names(finished: Finished) -> None:
    export(_ctx(finished), ExportOptions(formats=["edl"], fps=30))
    text = (finished.exports / "timeline.edl").read_text()
    events = re.findall(r"^(\d{3})\s+(\S+)\s+(\S+)\s+C\s", text, flags=re.MULTILINE)
    assert [e[0] for e in events] == ["001", "002", "003", "004", "005"]
    assert all(len(reel) <= 8 for _, reel, _ in events)
    assert {kind for _, _, kind in events} == {"V"}


def test_a_prompts_only_run_exports_timelines_with_missing_media(prompts_only: Finished) -> None:
    result = export(_ctx(prompts_only), ExportOptions(formats=["otio", "edl", "fcpxml", "otioz"]))
    assert not result.refused
    tl = otio.adapters.read_from_file(str(prompts_only.exports / "timeline.otio"))
    assert len(tl.find_clips()) == 5
    assert all(isinstance(c.media_reference, otio.schema.MissingReference) for c in tl.find_clips())
    assert read(prompts_only.exports / "timeline.edl", "edl", 24).duration() == tl.duration()


def test_out_folder_gets_the_files_and_no_partial_names(finished: Finished, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    result = export(_ctx(finished), ExportOptions(formats=["otio", "fcpxml"]), FolderDestination(out))
    assert sorted(p.name for p in out.iterdir()) == ["media", "timeline.otio", "timeline.xml"]
    assert not list(out.rglob(".*.part"))
    assert not finished.exports.exists()
    assert "timeline.otio" in result.written
    root = ET.parse(out / "timeline.xml").getroot()
    assert all((e.text or "").startswith(out.resolve().as_uri()) for e in root.iter("pathurl"))
