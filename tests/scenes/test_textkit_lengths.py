from __future__ import annotations

import pytest
from storyreel.services.brief.textkit import spoken_durations, strip_durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("keep it 2 - min tops", 120.0),
        ("a thirty-second reel", 30.0),
        ("a 45-sec clip", 45.0),
        ("about  sixty   seconds", 60.0),
    ],
)
def test_spoken_lengths_with_hyphens_and_spaces(text: str, seconds: float) -> None:
    assert spoken_durations(text)[0][0] == seconds


def test_a_length_is_never_left_in_the_subject() -> None:
    assert "min" not in strip_durations("a cooking video, 2 - min tops")
