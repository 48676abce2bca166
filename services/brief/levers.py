"""The creative levers the optimizer chooses between and the scenes stage honours.

Both sides read this one table: the optimizer's arms are exactly these, and the planner knows how to write
each of them (hook line, look, scene durations, colour grade).
"""

from __future__ import annotations

LEVERS: dict[str, tuple[str, ...]] = {
    "hook_style": ("question", "bold_claim", "story", "statistic"),
    "visual_style": ("cinematic", "documentary", "animated", "minimalist"),
    "pacing": ("fast", "balanced", "slow"),
    "color_treatment": ("warm", "cool", "vibrant", "muted"),
}

# What a run uses when the optimizer is off or has no opinion yet.
DEFAULT_VARIANT: dict[str, str] = {
    "hook_style": "question",
    "visual_style": "cinematic",
    "pacing": "balanced",
    "color_treatment": "warm",
}


def resolve_variant(variant: dict[str, str] | None) -> dict[str, str]:
    """The default variant overlaid with a decision's choices; unknown levers or arms are an error."""
    out = dict(DEFAULT_VARIANT)
    for lever, arm in (variant or {}).items():
        if lever not in LEVERS or arm not in LEVERS[lever]:
            raise ValueError(f"unknown creative choice {lever}={arm}")
        out[lever] = arm
    return out
