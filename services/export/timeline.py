"""Editor timelines through OpenTimelineIO: one video track, one clip per scene (its keyframe still, or its
clip), a marker with the scene's text, every length in whole frames at the export's rate.

Written by OTIO's own adapters: otio_json (.otio), otioz (.otioz, the media inside), fcp_xml (FCP7 XML:
Premiere, Resolve) and cmx_3600 (.edl). The pitfalls each has are handled here:
- a still is a clip of the scene's length whose media reference carries an available range of that length
  (editors refuse a source range past the media's);
- fcp_xml writes an empty <format>; the sequence's frame size, rate and pixel aspect are given through the
  adapter's metadata (`fcp_xml` namespace) so Premiere and Resolve know the frame;
- an EDL has one video track and reel names of at most 8 characters (S01..S99).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import opentimelineio as otio

TimelineFormat = Literal["otio", "otioz", "fcpxml", "edl"]
SUFFIX: dict[TimelineFormat, str] = {
    "otio": ".otio",
    "otioz": ".otioz",
    "fcpxml": ".xml",
    "edl": ".edl",
}
ADAPTER: dict[TimelineFormat, str] = {
    "otio": "otio_json",
    "otioz": "otioz",
    "fcpxml": "fcp_xml",
    "edl": "cmx_3600",
}
MARKER_CHARS = 200  # an EDL LOC line and an editor's marker list show one short line


@dataclass(frozen=True)
class Entry:
    """One scene on the timeline."""

    index: int
    title: str
    text: str  # the marker's comment: the scene's description
    frames: int
    media: Path | None  # the still or clip file (None: nothing rendered yet, a gap-like missing reference)
    media_frames: int | None = None  # a clip's own length in frames (None: a still, as long as the scene)


def reel(index: int) -> str:
    """The scene's EDL reel name (CMX3600 allows 8 characters)."""
    return f"S{index:02d}"


def build(
    title: str, entries: list[Entry], fps: int, size: tuple[int, int], url: dict[int, str]
) -> otio.schema.Timeline:
    """The timeline; `url[index]` is where scene `index`'s media is referenced from (a relative path or a
    file:// URL)."""
    timeline = otio.schema.Timeline(name=title)
    width, height = size
    timeline.metadata["fcp_xml"] = {
        "media": {
            "video": {
                "format": {
                    "samplecharacteristics": {
                        "width": str(width),
                        "height": str(height),
                        "anamorphic": "FALSE",
                        "pixelaspectratio": "square",
                        "fielddominance": "none",
                        "rate": {"timebase": str(fps), "ntsc": "FALSE"},
                    }
                }
            }
        }
    }
    timeline.metadata["storyreel"] = {"fps": fps, "width": width, "height": height}
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for entry in entries:
        length = otio.opentime.RationalTime(entry.frames, fps)
        source = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), length)
        reference: Any
        if entry.media is None:
            reference = otio.schema.MissingReference(name=f"scene {entry.index}: not rendered")
        else:
            available = otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps),
                otio.opentime.RationalTime(entry.media_frames or entry.frames, fps),
            )
            reference = otio.schema.ExternalReference(target_url=url[entry.index], available_range=available)
            reference.name = entry.media.name
        clip = otio.schema.Clip(
            name=f"S{entry.index} {entry.title}", media_reference=reference, source_range=source
        )
        clip.metadata["cmx_3600"] = {"reel": reel(entry.index)}
        clip.metadata["storyreel"] = {"scene": entry.index, "still": entry.media_frames is None}
        marker = otio.schema.Marker(
            name=f"S{entry.index} {entry.text}"[:MARKER_CHARS],
            marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(0, fps)
            ),
            color=otio.schema.MarkerColor.RED,
        )
        clip.markers.append(marker)
        track.append(clip)
    return timeline


def write(timeline: otio.schema.Timeline, fmt: TimelineFormat, dest: Path) -> Path:
    """Write `timeline` as `fmt` to `dest` through OTIO's adapter (otioz: the files its references point to
    are copied in, so they must be file:// URLs or paths that exist)."""
    otio.adapters.write_to_file(timeline, str(dest), adapter_name=ADAPTER[fmt])
    return dest


def read(path: Path, fmt: TimelineFormat, rate: int) -> otio.schema.Timeline:
    """Read a written timeline back with OTIO's adapter (an EDL needs its rate)."""
    if fmt == "edl":
        result = otio.adapters.read_from_file(str(path), adapter_name=ADAPTER[fmt], rate=rate)
    else:
        result = otio.adapters.read_from_file(str(path), adapter_name=ADAPTER[fmt])
    if not isinstance(result, otio.schema.Timeline):
        raise ValueError(f"{path} holds a {type(result).__name__}, not one timeline")
    return result
