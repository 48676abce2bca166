"""The prompt vocabulary of the creative variants (the levers in services/brief/levers.py): the look and the
grade of each visual style and colour treatment and their negative prompts, the camera moves, shot sizes,
transitions and timing of each pacing, and the call to action each intent defaults to. Plain data.
"""

from __future__ import annotations

LOOK = {
    "cinematic": "cinematic, anamorphic 35mm film look, shallow depth of field, dramatic lighting",
    "documentary": "documentary style, natural light, handheld realism, authentic candid moment",
    "animated": "2D animated illustration, clean vector shapes, bold outlines, flat shading",
    "minimalist": "minimalist composition, generous negative space, clean backdrop, soft even light",
}
GRADE = {
    "warm": "warm color grade, golden highlights",
    "cool": "cool color grade, teal and blue shadows",
    "vibrant": "vibrant saturated colors, punchy contrast",
    "muted": "muted desaturated grade, soft contrast",
}
STYLE_NEGATIVE = {
    "cinematic": "cartoon, flat illustration",
    "documentary": "cartoon, staged studio look",
    "animated": "photorealistic, photo grain",
    "minimalist": "cluttered background, busy composition",
}
GRADE_NEGATIVE = {
    "warm": "cold blue cast",
    "cool": "orange cast",
    "vibrant": "washed out, dull colors",
    "muted": "oversaturated, neon colors",
}
BASE_NEGATIVE = (
    "blurry, low quality, distorted, deformed hands, extra limbs, watermark, garbled text, jpeg artifacts"
)
MOVES = {
    "cinematic": ("slow push-in", "tracking right", "crane up", "slow orbit left", "dolly out"),
    "documentary": ("handheld follow right", "locked-off static", "handheld push-in", "pan left"),
    "animated": ("zoom in", "parallax pan right", "pull-out", "tilt up"),
    "minimalist": ("locked-off static", "slow pan right", "slow push-in", "static top-down"),
}
SHOTS = ("medium shot", "close-up", "wide shot", "medium close-up")
SHOT_LADDER = (
    "extreme wide shot",
    "wide shot",
    "medium shot",
    "medium close-up",
    "close-up",
    "extreme close-up",
)
TRANSITIONS = {
    "fast": ("hard cut", "whip pan", "jump cut", "match cut"),
    "balanced": ("cut", "match cut", "dissolve", "cut"),
    "slow": ("cross-dissolve", "slow fade", "dissolve", "match cut"),
}
ENDING = {"fast": "hard cut to black", "balanced": "fade to end card", "slow": "slow fade to black"}
# average shot length (how often it cuts); the seconds per scene are services/brief/vocab.py BASE_SECONDS
SHOT_SECONDS = {"fast": 1.2, "balanced": 2.5, "slow": 5.0}
HOOK_WEIGHT = {"fast": 0.7, "balanced": 1.0, "slow": 1.3}
CTA_WEIGHT = {"fast": 0.8, "balanced": 1.0, "slow": 1.2}
# Extra shots of one beat when the brief has fewer beats than scenes: (title suffix, what the camera sees).
DETAIL_ANGLES = (
    ("detail", "the details of {a}"),
    ("reaction", "a reaction to {a}"),
    ("another angle", "{a}, seen from another angle"),
    ("wider view", "the wider setting around {a}"),
)
DEFAULT_CTA = {
    "sell": "shop now, link in bio",
    "educate": "follow for more",
    "entertain": "share it with a friend",
    "inspire": "tell us your story in the comments",
    "document": "follow along for the next chapter",
    "raise awareness": "share to spread the word",
    "inform": "follow for more",
}
