"""The embedded planner: reads a spoken brief with word lists, RAKE keyphrases and a sentiment lexicon, and
writes the scenes in the order the speaker described them. Deterministic (same transcript, same plan), no
network, no randomness: every choice is a lookup or a cycle over the scene index.

The reading is services/scenes/reading.py, the writing services/scenes/writer.py, and the words each creative
variant is written in services/scenes/vocabulary.py.
"""

from __future__ import annotations

from storyreel.services.brief.levers import resolve_variant
from storyreel.services.scenes.reading import Brief, read_brief, read_context
from storyreel.services.scenes.writer import SceneWriter
from storyreel.shared.contracts import CreativeContext, ScenePlan, Transcript


class LocalPlanner:
    """Deterministic planner: keywords (RAKE), tone (lexicon), and the brief's own structure."""

    name = "local"

    def __init__(self) -> None:
        # The last transcript read (its JSON) and its reading: a run asks for the context, then the scenes, of
        # one transcript; reading it is half the planner's time. A Brief is never changed once read.
        self._last: tuple[str, Brief] | None = None

    def _read(self, transcript: Transcript) -> Brief:
        key = transcript.model_dump_json()
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        brief = read_brief(transcript)
        self._last = (key, brief)
        return brief

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        return read_context(self._read(transcript))

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan:
        if not 3 <= n_scenes <= 10:
            raise ValueError(f"n_scenes must be 3..10, got {n_scenes}")
        v = resolve_variant(variant)
        writer = SceneWriter(self._read(transcript), context, v)
        return writer.plan(n_scenes)
