"""A storyboard's scene durations as whole frames at an export's frame rate."""

from __future__ import annotations

from storyreel.shared.errors import UserError

# The animatic's frame per aspect at full size (the PDF and timelines name it too).
SIZES: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}


def scene_frames(durations: list[float], fps: int) -> list[int]:
    """Each scene's length in whole frames. The boundaries are rounded, not the lengths, so the total is the
    plan's total rounded once (round(sum(durations) * fps)) and no scene drifts by more than half a frame."""
    frames: list[int] = []
    at = 0.0
    edge = 0
    for index, duration in enumerate(durations, start=1):
        at += duration
        nxt = round(at * fps)
        if nxt - edge < 1:
            raise UserError(f"scene {index} lasts {duration:g} s, less than one frame at {fps} fps")
        frames.append(nxt - edge)
        edge = nxt
    return frames


def starts(frames: list[int]) -> list[int]:
    """The first frame of each scene on the timeline."""
    out, at = [], 0
    for n in frames:
        out.append(at)
        at += n
    return out
