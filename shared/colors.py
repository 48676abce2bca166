"""Colour words a speaker may say, with the hex each one stands for.

Shared by the local planner (colour words in the brief -> palette entries "name #RRGGBB") and the sketch
renderer (palette entries -> swatches). Multi-word names come first so "navy blue" wins over "blue".
"""

from __future__ import annotations

import re

COLORS: dict[str, str] = {
    # multi-word names first (matched before their last word)
    "navy blue": "#1F3A5F",
    "sky blue": "#87CEEB",
    "baby blue": "#A7C7E7",
    "powder blue": "#B0E0E6",
    "electric blue": "#3D5AFE",
    "royal blue": "#4169E1",
    "slate blue": "#5B6C8F",
    "forest green": "#228B22",
    "olive green": "#6B8E23",
    "mint green": "#98D8B0",
    "sage green": "#9CAF88",
    "lime green": "#7FD13B",
    "emerald green": "#2E8B57",
    "deep teal": "#0F4C5C",
    "hot pink": "#FF4F9A",
    "blush pink": "#F4C2C2",
    "dusty rose": "#C4A4A4",
    "burnt orange": "#CC5500",
    "sunflower yellow": "#F7C81E",
    "mustard yellow": "#D8A31A",
    "off white": "#F5F3EE",
    "light grey": "#D3D3D3",
    "light gray": "#D3D3D3",
    "dark grey": "#4A4A4A",
    "dark gray": "#4A4A4A",
    # single words
    "red": "#D7263D",
    "crimson": "#B0172F",
    "burgundy": "#7A1F3D",
    "maroon": "#6D1A2A",
    "orange": "#F28C28",
    "coral": "#FF6F61",
    "peach": "#FFB38A",
    "terracotta": "#E2725B",
    "rust": "#B7410E",
    "amber": "#FFB000",
    "yellow": "#F5D547",
    "mustard": "#D8A31A",
    "gold": "#D4AF37",
    "golden": "#D4AF37",
    "cream": "#F3E9D2",
    "beige": "#E8DCC4",
    "sand": "#D8C3A5",
    "tan": "#C9A27E",
    "brown": "#7B4B2A",
    "chocolate": "#5C3A21",
    "coffee": "#6F4E37",
    "caramel": "#C68E4E",
    "green": "#3BA55C",
    "sage": "#9CAF88",
    "olive": "#6B8E23",
    "mint": "#98D8B0",
    "emerald": "#2E8B57",
    "teal": "#128C8C",
    "turquoise": "#30C5C1",
    "cyan": "#22C3E6",
    "aqua": "#3FD0D4",
    "blue": "#2F6FDE",
    "navy": "#1F3A5F",
    "cobalt": "#0047AB",
    "indigo": "#4B3F9E",
    "purple": "#7E4FC1",
    "violet": "#8F5CD6",
    "lavender": "#B9A7E0",
    "lilac": "#C8A2C8",
    "magenta": "#D63AAF",
    "pink": "#F48FB1",
    "rose": "#E8798C",
    "blush": "#F4C2C2",
    "white": "#FAFAFA",
    "ivory": "#FFFBEA",
    "silver": "#C0C0C8",
    "grey": "#8A8D91",
    "gray": "#8A8D91",
    "charcoal": "#36454F",
    "black": "#141414",
    "neon": "#39FF14",
    "pastel": "#F6D6E6",
}

_HEX = re.compile(r"#([0-9a-fA-F]{6})\b")
_NAMES = sorted(COLORS, key=lambda n: (-len(n), n))
_NAME_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in _NAMES) + r")(?:s|es)?\b", re.IGNORECASE)


def entry(name: str) -> str:
    """A palette entry as the planner writes it: "terracotta #E2725B"."""
    return f"{name} {COLORS[name]}"


def to_rgb(value: str) -> tuple[int, int, int] | None:
    """A palette entry ("terracotta #E2725B", "#E2725B", "terracotta", "navy blue") -> RGB; None if unknown."""
    m = _HEX.search(value)
    if m:
        h = m.group(1)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    m = _NAME_RE.search(value)
    if m:
        return to_rgb(COLORS[m.group(1).lower()])
    return None


def name_of(value: str) -> str:
    """The name part of a palette entry (the entry without its hex code)."""
    return _HEX.sub("", value).strip() or value.strip()


def find_colors(text: str) -> list[str]:
    """Colour names in `text` in order of first mention, longest name first at each position, no repeats."""
    out: list[str] = []
    for m in _NAME_RE.finditer(text):
        name = m.group(1).lower()
        if name not in out:
            out.append(name)
    return out
