"""Every component of the score links where its points came from, the content part included: the brief's own
sentences (with their time span when the transcript is timed) or the planned storyboard."""

from __future__ import annotations

from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.services.virality.content import content_components
from storyreel.shared.contracts import Segment, Transcript

TIMED = Transcript(
    # as speech recognition writes it: no punctuation, so the sentences come from the timed segments
    text="you will not believe this coffee it is amazing and so refreshing for instagram reels thirty seconds",
    duration_s=9.0,
    segments=[
        Segment(start=0.0, end=2.4, text="you will not believe this coffee"),
        Segment(start=3.0, end=5.8, text="it is amazing and so refreshing"),
        Segment(start=6.4, end=9.0, text="for instagram reels thirty seconds"),
    ],
)


def test_every_content_component_cites_evidence() -> None:
    context = LocalPlanner().extract_context(TIMED)
    components = {c.name: c for c in content_components(TIMED, context, {}, n_scenes=5)}
    assert set(components) == {"hook", "emotion", "clarity", "length_fit"}
    for comp in components.values():
        assert comp.evidence, f"{comp.name} cites nothing"
    opening = components["hook"].evidence[0]
    assert opening.source == "brief" and "believe this coffee" in opening.snippet
    assert opening.url.startswith("transcript.json#t=0.0,")
    emotional = components["emotion"].evidence
    assert any("amazing" in e.title for e in emotional)
    assert all(e.url.startswith("transcript.json") for e in emotional)
    length = components["length_fit"].evidence[0]
    assert (
        length.url == "scenes.json"
        and f"{components['length_fit'].numbers['planned_seconds']:g} s" in length.title
    )


def test_untimed_transcripts_link_the_transcript_without_a_span() -> None:
    plain = Transcript(text="You will not believe this coffee. It is amazing.", duration_s=4.0)
    context = LocalPlanner().extract_context(plain)
    hook = content_components(plain, context, {}, n_scenes=3)[0]
    assert hook.evidence[0].url == "transcript.json"


def test_the_page_links_run_files_and_nothing_else_relative() -> None:
    from storyreel.services.finalize.page import _link

    assert '<a href="transcript.json#t=0.0,2.7">' in _link("transcript.json#t=0.0,2.7", "the opening line")
    assert '<a href="scenes.json">' in _link("scenes.json", "planned length")
    for hostile in ("javascript:alert(1)", "../../etc/passwd", "/etc/passwd", "transcript.json#t=<script>"):
        assert "<a " not in _link(hostile, "x"), hostile
