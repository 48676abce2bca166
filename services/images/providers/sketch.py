"""The embedded image provider: draws a storyboard panel per keyframe with Pillow.

A panel is plainly a placeholder, never passed off as generated art: it carries a "SKETCH" mark, the scene
number and START/END label, the title, the prompt, the palette as swatches, rule-of-thirds guides and the
camera move. The end frame is the start frame's shot moved by the camera (pushed in, pulled out, panned,
tilted, orbited), so a pair reads as one shot. Deterministic for a given seed and size; no network.
"""

from __future__ import annotations

import io
import random
import re
import struct
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared import colors
from storyreel.shared.ids import parse_frame_id

MARK = "SKETCH — placeholder, not generated art"
PAPER = (246, 243, 236)
INK = (34, 34, 38)
MARK_RED = (196, 40, 40)
FALLBACK_PALETTE = ((54, 69, 79), (245, 243, 238), (91, 108, 143))
ZOOM = 1.3  # how far a push-in / pull-out moves between the start and end frame
SHIFT = 0.18  # how far a pan / tilt moves, as a share of the shot
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
_BOLD_FILES = tuple(f.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf") for f in _FONT_FILES)
# Errors one frame can raise while being drawn (a bad init image, an odd size); the frame fails, the batch goes on.
FRAME_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    MemoryError,
    SyntaxError,  # Pillow's image plugins signal a malformed file with it
    zlib.error,
    struct.error,
    Image.DecompressionBombError,
)


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (full Unicode) where the system has it, else Pillow's embedded font."""
    for path in _BOLD_FILES if bold else _FONT_FILES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def font_px(fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    """A font's size in pixels: Pillow built without FreeType loads a fixed bitmap font, which has no .size."""
    if isinstance(fnt, ImageFont.FreeTypeFont):
        return fnt.size
    _, top, _, bottom = fnt.getbbox("Ag")
    return bottom - top


def camera_move(camera: str) -> str:
    """The camera text -> one of: in, out, left, right, up, down, orbit, static."""
    c = camera.lower()
    if re.search(r"push|zoom(?:s|ing)? in|dolly in|\bzoom\b(?! out)", c):
        return "in"
    if re.search(r"pull|zoom(?:s|ing)? out|dolly out|dolly back|pull back", c):
        return "out"
    if re.search(r"orbit|\barc\b", c):
        return "orbit"
    if re.search(r"(?:pan|track|truck|follow|tracking)\w*\s*left", c):
        return "left"
    if re.search(r"pan|track|truck|follow|whip|parallax", c):
        return "right"
    if re.search(r"(?:tilt|crane|boom)\w*\s*down", c):
        return "down"
    if re.search(r"tilt|crane|boom|rise|pedestal", c):
        return "up"
    return "static"


def shot_scale(camera: str) -> float:
    """How big the subject sits in frame for the shot size named in the camera text."""
    c = camera.lower()
    if "extreme close" in c or "macro" in c:
        return 1.6
    if "close" in c:
        return 1.3
    if "extreme wide" in c or "aerial" in c or "drone" in c:
        return 0.45
    if "wide" in c or "establishing" in c:
        return 0.65
    return 1.0


@dataclass(frozen=True)
class Layout:
    """Where each part of a panel goes. Landscape panels put the prompt in a column beside the shot; square and
    portrait ones (9:16 for Reels/Shorts) stack it under the shot. `base` scales text and lines: the height a
    16:9-ish panel of the same width would have, so a tall narrow panel does not get huge text."""

    w: int
    h: int
    base: int
    margin: int
    header: tuple[int, int, int, int]
    shot: tuple[int, int, int, int]
    side: tuple[int, int, int, int]
    footer: tuple[int, int, int, int]

    @classmethod
    def of(cls, w: int, h: int) -> Layout:
        base = min(h, round(w * 0.5714))
        m = max(2, round(base * 0.025))
        hh = max(8, round(base * 0.09))
        fh = max(8, round(base * 0.11))
        top = hh + m // 2
        if w >= h * 1.2:
            side_w = round(w * 0.34)
            shot = (m, top, max(m + 4, w - 2 * m - side_w), max(top + 4, h - fh - m))
            side = (shot[2] + m, shot[1], w - m, shot[3])
        else:
            shot_bottom = top + max(4, round((h - top - fh - m) * 0.62))
            shot = (m, top, w - m, shot_bottom)
            side = (m, shot_bottom + 2 * m, w - m, h - fh - m)
        return cls(w, h, base, m, (0, 0, w, hh), shot, side, (m, h - fh, w - m, h - m // 2))


def _palette_pairs(meta: dict) -> list[tuple[str, tuple[int, int, int]]]:
    """(label, colour) per palette entry the renderer can read; a neutral set when there is none."""
    pairs = []
    for entry in meta.get("palette") or []:
        rgb = colors.to_rgb(str(entry))
        if rgb:
            pairs.append((str(entry), rgb))
    return pairs or [("#{:02X}{:02X}{:02X} (no palette given)".format(*c), c) for c in FALLBACK_PALETTE]


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _luma(c: tuple[int, int, int]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _contrast(c: tuple[int, int, int]) -> tuple[int, int, int]:
    return INK if _luma(c) > 140 else (250, 250, 250)


def _wrap(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> list[str]:
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and draw.textlength(trial, font=fnt) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def _fit(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> str:
    if draw.textlength(text, font=fnt) <= width:
        return text
    while text and draw.textlength(text + "…", font=fnt) > width:
        text = text[:-1]
    return text + "…"


def _dashed_rect(draw: ImageDraw.ImageDraw, box, fill, width: int, dash: int) -> None:
    x0, y0, x1, y1 = (round(v) for v in box)
    for x in range(x0, x1, dash * 2):
        draw.line([(x, y0), (min(x + dash, x1), y0)], fill=fill, width=width)
        draw.line([(x, y1), (min(x + dash, x1), y1)], fill=fill, width=width)
    for y in range(y0, y1, dash * 2):
        draw.line([(x0, y), (x0, min(y + dash, y1))], fill=fill, width=width)
        draw.line([(x1, y), (x1, min(y + dash, y1))], fill=fill, width=width)


def _arrow(draw: ImageDraw.ImageDraw, a, b, fill, width: int) -> None:
    draw.line([a, b], fill=fill, width=width)
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = max(1.0, (dx * dx + dy * dy) ** 0.5)
    ux, uy = dx / n, dy / n
    s = width * 4
    left = (b[0] - ux * s - uy * s * 0.6, b[1] - uy * s + ux * s * 0.6)
    right = (b[0] - ux * s + uy * s * 0.6, b[1] - uy * s - ux * s * 0.6)
    draw.polygon([b, left, right], fill=fill)


class SketchRenderer:
    """ImageProvider: storyboard panels, not generated art."""

    name = "sketch"
    model = "sketch-v1"
    placeholder = True
    supports_init_image = True

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        results = []
        for req in requests:
            t0 = time.perf_counter()
            try:
                png = self.render_png(req)
                results.append(ImageResult(req.frame_id, png, time.perf_counter() - t0, req.seed, self.model))
            except FRAME_ERRORS as exc:
                error = f"sketch panel failed: {type(exc).__name__}: {exc}"
                results.append(
                    ImageResult(req.frame_id, None, time.perf_counter() - t0, req.seed, self.model, error)
                )
        return results

    # ------------------------------------------------------------------ one panel
    def render_png(self, req: ImageRequest) -> bytes:
        if req.width < 16 or req.height < 16:
            raise ValueError(f"panel size {req.width}x{req.height} is too small")
        lay = Layout.of(req.width, req.height)
        meta = req.meta or {}
        role = str(meta.get("role") or ("end" if req.frame_id.endswith("-end") else "start"))
        camera = str(meta.get("camera") or "")
        pairs = _palette_pairs(meta)
        palette = [rgb for _, rgb in pairs]
        sw, sh = lay.shot[2] - lay.shot[0], lay.shot[3] - lay.shot[1]
        if role == "end":
            if req.init_image is not None:
                with Image.open(io.BytesIO(req.init_image)) as init:
                    start_panel = init.convert("RGB")
                if start_panel.size != (req.width, req.height):
                    start_panel = start_panel.resize((req.width, req.height), Image.Resampling.BILINEAR)
                start_shot = start_panel.crop(lay.shot)
            else:
                start_shot = self._draw_shot(sw, sh, palette, camera, req.seed)
            shot = self._move(start_shot, camera, palette)
        else:
            shot = self._draw_shot(sw, sh, palette, camera, req.seed)
        img = Image.new("RGB", (req.width, req.height), PAPER)
        img.paste(shot, lay.shot[:2])
        draw = ImageDraw.Draw(img)
        self._guides(draw, lay, camera, role)
        self._header(draw, lay, meta, role, req.frame_id, palette)
        self._side(draw, lay, req, camera, meta)
        self._swatches(draw, lay, pairs)
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=1)
        return out.getvalue()

    def _draw_shot(self, w: int, h: int, palette, camera: str, seed: int) -> Image.Image:
        """The shot itself: a palette gradient, a horizon, set shapes and the subject, placed by the seed."""
        rng = random.Random(seed)
        top = _mix(palette[0], (255, 255, 255), 0.15)
        bottom = _mix(palette[1 % len(palette)], (0, 0, 0), 0.25)
        mask = Image.linear_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
        shot = Image.composite(Image.new("RGB", (w, h), bottom), Image.new("RGB", (w, h), top), mask)
        draw = ImageDraw.Draw(shot)
        horizon = round(h * rng.choice((0.62, 0.66, 0.7)))
        ground = _mix(palette[1 % len(palette)], (0, 0, 0), 0.4)
        draw.rectangle([0, horizon, w, h], fill=ground)
        set_colour = _mix(palette[2 % len(palette)], palette[0], 0.35)
        for _ in range(3):  # background set pieces
            bw = round(w * rng.uniform(0.08, 0.2))
            bh = round(h * rng.uniform(0.15, 0.4))
            bx = round(w * rng.uniform(0.0, 0.9))
            draw.rectangle(
                [bx, horizon - bh, bx + bw, horizon], fill=set_colour, outline=_mix(set_colour, INK, 0.4)
            )
        # the subject sits on a thirds line, sized by the shot size
        scale = shot_scale(camera)
        cx = round(w * rng.choice((1 / 3, 2 / 3)))
        fig_h = min(h * 0.95, h * 0.5 * scale)
        head = fig_h * 0.22
        base = min(h, horizon + round(h * 0.12 * scale))
        body_top = base - fig_h + head * 2
        subject = palette[3 % len(palette)] if len(palette) > 3 else _mix(palette[-1], INK, 0.55)
        outline = _contrast(subject)
        draw.rounded_rectangle(
            [cx - fig_h * 0.22, body_top, cx + fig_h * 0.22, base],
            radius=max(1, round(head * 0.5)),
            fill=subject,
            outline=outline,
            width=2,
        )
        draw.ellipse(
            [cx - head, body_top - head * 2.05, cx + head, body_top - 0.05 * head],
            fill=subject,
            outline=outline,
            width=2,
        )
        return shot

    def _move(self, shot: Image.Image, camera: str, palette) -> Image.Image:
        """The start shot after the camera move: the end frame of the same shot."""
        w, h = shot.size
        move = camera_move(camera)
        fill = _mix(palette[0], (0, 0, 0), 0.35)
        if move == "in":
            inset = max(2, round(h / 200)) + 2  # inside the start frame's dashed end-framing guide
            cw, ch = round(w / ZOOM) - 2 * inset, round(h / ZOOM) - 2 * inset
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            return shot.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BILINEAR)
        if move == "out":
            small = shot.resize((round(w / ZOOM), round(h / ZOOM)), Image.Resampling.BILINEAR)
            out = Image.new("RGB", (w, h), fill)
            out.paste(small, ((w - small.width) // 2, (h - small.height) // 2))
            _dashed_rect(
                ImageDraw.Draw(out),
                (
                    (w - small.width) // 2,
                    (h - small.height) // 2,
                    (w + small.width) // 2,
                    (h + small.height) // 2,
                ),
                (250, 250, 250),
                2,
                8,
            )
            return out
        if move == "orbit":
            return ImageOps.fit(
                shot.rotate(-6, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=fill),
                (w, h),
                centering=(0.4, 0.5),
            ).resize((w, h))
        if move == "static":  # locked-off: the frame holds, the subject moves on
            return ImageOps.mirror(shot)
        dx = {"left": 1, "right": -1}.get(move, 0) * round(w * SHIFT)
        dy = {"up": 1, "down": -1}.get(move, 0) * round(h * SHIFT)
        out = Image.new("RGB", (w, h), fill)
        # the strip the move reveals continues the set (mirrored from the edge it came through)
        if dx < 0:
            out.paste(ImageOps.mirror(shot.crop((w + dx, 0, w, h))), (w + dx, 0))
        elif dx > 0:
            out.paste(ImageOps.mirror(shot.crop((0, 0, dx, h))), (0, 0))
        elif dy > 0:
            out.paste(ImageOps.flip(shot.crop((0, 0, w, dy))), (0, 0))
        elif dy < 0:
            out.paste(ImageOps.flip(shot.crop((0, h + dy, w, h))), (0, h + dy))
        out.paste(shot, (dx, dy))
        edge = ImageDraw.Draw(out)
        dash = max(4, w // 60)
        if dx:  # where the start frame's edge was
            x = w + dx if dx < 0 else dx
            _dashed_rect(edge, (x, 0, x, h - 1), (250, 250, 250), 2, dash)
        if dy:
            y = h + dy if dy < 0 else dy
            _dashed_rect(edge, (0, y, w - 1, y), (250, 250, 250), 2, dash)
        return out

    def _guides(self, draw: ImageDraw.ImageDraw, lay: Layout, camera: str, role: str) -> None:
        x0, y0, x1, y1 = lay.shot
        w, h = x1 - x0, y1 - y0
        # rule of thirds: ticks on the frame edge and a cross at each intersection (kept small so an end frame
        # derived from its start frame does not carry a ghost grid)
        guide = (255, 255, 255)
        lw = max(1, round(lay.base / 400))
        tick = max(3, lay.margin - 2)
        for i in (1, 2):
            gx, gy = x0 + w * i / 3, y0 + h * i / 3
            draw.line([(gx, y0 - tick), (gx, y0)], fill=INK, width=lw * 2)
            draw.line([(gx, y1), (gx, y1 + tick)], fill=INK, width=lw * 2)
            draw.line([(x0 - tick, gy), (x0, gy)], fill=INK, width=lw * 2)
            draw.line([(x1, gy), (x1 + tick, gy)], fill=INK, width=lw * 2)
        r = max(3, round(lay.base / 60))
        for i in (1, 2):
            for j in (1, 2):
                cx, cy = x0 + w * i / 3, y0 + h * j / 3
                draw.line([(cx - r, cy), (cx + r, cy)], fill=guide, width=lw)
                draw.line([(cx, cy - r), (cx, cy + r)], fill=guide, width=lw)
        draw.rectangle(lay.shot, outline=INK, width=max(1, lw * 2))
        move = camera_move(camera)
        hint = (255, 214, 10)
        aw = max(2, round(lay.base / 200))
        cx, cy = x0 + w / 2, y0 + h / 2
        if role == "start":
            if move == "in":
                _dashed_rect(
                    draw,
                    (cx - w / ZOOM / 2, cy - h / ZOOM / 2, cx + w / ZOOM / 2, cy + h / ZOOM / 2),
                    hint,
                    aw,
                    max(4, w // 60),
                )
                for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
                    _arrow(
                        draw,
                        (cx + sx * w * 0.47, cy + sy * h * 0.45),
                        (cx + sx * w * 0.4, cy + sy * h * 0.4),
                        hint,
                        aw,
                    )
            elif move == "out":
                for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
                    _arrow(
                        draw,
                        (cx + sx * w * 0.3, cy + sy * h * 0.28),
                        (cx + sx * w * 0.45, cy + sy * h * 0.43),
                        hint,
                        aw,
                    )
            elif move in ("left", "right"):
                s = 1 if move == "right" else -1
                _arrow(draw, (cx - s * w * 0.2, y0 + h * 0.12), (cx + s * w * 0.2, y0 + h * 0.12), hint, aw)
            elif move in ("up", "down"):
                s = -1 if move == "up" else 1
                _arrow(draw, (x0 + w * 0.9, cy - s * h * 0.2), (x0 + w * 0.9, cy + s * h * 0.2), hint, aw)
            elif move == "orbit":
                draw.arc(
                    [cx - w * 0.3, cy - h * 0.3, cx + w * 0.3, cy + h * 0.3], 200, 340, fill=hint, width=aw
                )
        label = {
            "in": "PUSH IN",
            "out": "PULL OUT",
            "left": "MOVE LEFT",
            "right": "MOVE RIGHT",
            "up": "MOVE UP",
            "down": "MOVE DOWN",
            "orbit": "ORBIT",
            "static": "STATIC",
        }[move]
        text = f"{label} ▸ end" if role == "start" else f"after {label.lower()}"
        f = font(max(8, round(lay.base / 42)), bold=True)
        tw = draw.textlength(text, font=f)
        pad = max(2, lay.margin // 3)
        draw.rectangle([x0 + pad, y1 - font_px(f) - 3 * pad, x0 + 3 * pad + tw, y1 - pad], fill=INK)
        draw.text((x0 + 2 * pad, y1 - font_px(f) - 2 * pad), text, font=f, fill=hint)

    def _header(
        self, draw: ImageDraw.ImageDraw, lay: Layout, meta: dict, role: str, frame_id: str, palette
    ) -> None:
        _, y0, x1, y1 = lay.header
        m = lay.margin
        big = font(max(8, round((y1 - y0) * 0.42)), bold=True)
        scene = meta.get("scene_index") or parse_frame_id(frame_id)[0]
        badge = f"S{scene} · {role.upper()}"
        bw = draw.textlength(badge, font=big) + 2 * m
        badge_fill = _mix(palette[0], INK, 0.6)
        draw.rounded_rectangle([m, y0 + m // 2, m + bw, y1 - m // 3], radius=m // 2, fill=badge_fill)
        draw.text((m + m, (y0 + y1) / 2), badge, font=big, fill=_contrast(badge_fill), anchor="lm")
        size = max(7, round((y1 - y0) * 0.3))
        small = font(size, bold=True)
        while size > 6 and draw.textlength(MARK, font=small) + 2 * m > lay.w * 0.45:
            size -= 1
            small = font(size, bold=True)
        mark_w = draw.textlength(MARK, font=small) + 2 * m
        mark_x = x1 - m - mark_w
        draw.rectangle(
            [mark_x, y0 + m // 2, x1 - m, y1 - m // 3],
            outline=MARK_RED,
            width=max(1, m // 4),
            fill=(255, 240, 240),
        )
        draw.text((mark_x + m, (y0 + y1) / 2), MARK, font=small, fill=MARK_RED, anchor="lm")
        title = str(meta.get("scene_title") or meta.get("title") or "")
        tx = m + bw + m
        if title and mark_x - tx > 20:
            draw.text(
                (tx, (y0 + y1) / 2),
                _fit(draw, title, big, round(mark_x - tx - m)),
                font=big,
                fill=INK,
                anchor="lm",
            )

    def _side(
        self, draw: ImageDraw.ImageDraw, lay: Layout, req: ImageRequest, camera: str, meta: dict
    ) -> None:
        x0, y0, x1, y1 = lay.side
        if x1 - x0 < 40 or y1 - y0 < 20:
            return
        m = lay.margin
        stacked = lay.side[1] > lay.shot[1]  # the text sits under the shot: it has the panel's full width
        size = max(7, round(lay.base / 52), round((x1 - x0) / 45) if stacked else 0)
        head = font(round(size * 1.3), bold=True)
        body = font(size)
        y = y0
        facts = []
        if camera:
            facts.append(("CAMERA", camera))
        if meta.get("transition"):
            facts.append(("TRANSITION", str(meta["transition"])))
        if meta.get("duration"):
            facts.append(("DURATION", f"{float(meta['duration']):g} s"))
        line_h = round(max(font_px(body) * 1.3, font_px(head) * 1.15))
        for key, value in facts:
            draw.text((x0, y), key, font=head, fill=(110, 110, 118))
            draw.text(
                (x0 + draw.textlength("TRANSITION  ", font=head), y),
                _fit(draw, value, body, x1 - x0 - round(draw.textlength("TRANSITION  ", font=head))),
                font=body,
                fill=INK,
            )
            y += line_h
        y += m // 2
        draw.text((x0, y), "PROMPT", font=head, fill=(110, 110, 118))
        y += round(font_px(head) * 1.4)
        lines = _wrap(draw, req.prompt, body, x1 - x0)
        room = max(0, (y1 - y - 2 * line_h) // line_h)
        if len(lines) > room:
            lines = lines[:room]
            if lines:
                lines[-1] = _fit(draw, lines[-1] + " …", body, x1 - x0)
        for line in lines:
            draw.text((x0, y), line, font=body, fill=INK)
            y += line_h

    def _swatches(self, draw: ImageDraw.ImageDraw, lay: Layout, pairs) -> None:
        x0, y0, x1, y1 = lay.footer
        n = len(pairs)
        gap = max(2, lay.margin // 2)
        sw = (x1 - x0 - gap * (n - 1)) / n
        f = font(max(7, round((y1 - y0) * 0.26)))
        for i, (label, rgb) in enumerate(pairs):
            bx = x0 + i * (sw + gap)
            draw.rectangle([bx, y0, bx + sw, y1], fill=rgb, outline=INK)
            draw.text(
                (bx + gap, (y0 + y1) / 2),
                _fit(draw, label, f, round(sw - 2 * gap)),
                font=f,
                fill=_contrast(rgb),
                anchor="lm",
            )
