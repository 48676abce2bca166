"""The embedded planner: reads a spoken brief with word lists, RAKE keyphrases and a sentiment lexicon, and
writes the scenes in the order the speaker described them. Deterministic (same transcript, same plan), no
network, no randomness: every choice is a lookup or a cycle over the scene index.

The reading is services/scenes/reading.py, the writing services/scenes/writer.py, and the words each creative
variant is written in services/scenes/vocabulary.py.
"""

from __future__ import annotations

from storyreel.services.brief.levers import resolve_variant
from storyreel.services.scenes.reading import read_brief, read_context
from storyreel.services.scenes.writer import SceneWriter
from storyreel.shared.contracts import CreativeContext, ScenePlan, Transcript


class LocalPlanner:
    """Deterministic planner: keywords (RAKE), tone (lexicon), and the brief's own structure."""

    name = "local"

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        return read_context(read_brief(transcript))

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan:
        if not 3 <= n_scenes <= 10:
            raise ValueError(f"n_scenes must be 3..10, got {n_scenes}")
        v = resolve_variant(variant)
        brief = read_brief(transcript)
        writer = SceneWriter(brief, context, v)
        return writer.plan(n_scenes)
