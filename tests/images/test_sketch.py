"""Sketch renderer: real PNG panels at the requested size, deterministic, end frame derived from the start."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.images.providers.base import ImageRequest
from storyreel.services.images.providers.sketch import MARK, Layout, SketchRenderer, camera_move
from storyreel.services.images.render import render_frames
from storyreel.shared.pipeline import frame_order
from storyreel.shared.settings import ImageGenerationConfig

META = {
    "scene_index": 2,
    "scene_title": "Barista pouring",
    "camera": "medium shot, slow push-in",
    "transition": "cut",
    "duration": 4.0,
    "palette": ["terracotta #E2725B", "cream #F3E9D2", "sage green #9CAF88"],
}


def req(role="start", seed=7, w=1344, h=768, init=None, **meta) -> ImageRequest:
    return ImageRequest(
        frame_id=f"s2-{role}",
        prompt="medium shot of a barista pouring oat milk, cozy mood, color palette: terracotta, cream, sage green",
        negative_prompt="blurry",
        width=w,
        height=h,
        seed=seed,
        init_image=init,
        meta={**META, "role": role, **meta},
    )


def png(result) -> Image.Image:
    assert result.ok, result.error
    return Image.open(io.BytesIO(result.png))


def test_panel_is_a_png_at_the_requested_size():
    r = SketchRenderer()
    for w, h in ((1344, 768), (768, 1344), (512, 512), (64, 64)):
        img = png(r.render([req(w=w, h=h)])[0])
        assert img.format == "PNG" and img.size == (w, h)


def test_provider_flags_say_placeholder():
    r = IMAGE_PROVIDERS.build(ImageGenerationConfig())
    assert isinstance(r, SketchRenderer)
    assert (r.name, r.model, r.placeholder, r.supports_init_image) == ("sketch", "sketch-v1", True, True)
    assert "placeholder, not generated art" in MARK


def test_deterministic_for_a_seed_and_different_for_another():
    r = SketchRenderer()
    a, b, c = (r.render([req(seed=s)])[0].png for s in (7, 7, 8))
    assert a == b
    assert a != c


def test_palette_swatches_are_drawn():
    img = png(SketchRenderer().render([req()])[0]).convert("RGB")
    lay = Layout.of(1344, 768)
    x0, _, x1, y1 = lay.footer
    colours = [img.getpixel((round(x0 + (x1 - x0) * (i + 0.5) / 3), y1 - 3)) for i in range(3)]
    assert colours == [(0xE2, 0x72, 0x5B), (0xF3, 0xE9, 0xD2), (0x9C, 0xAF, 0x88)]


def test_start_frame_shows_where_a_push_in_ends_and_end_frame_says_end():
    r = SketchRenderer()
    start = png(r.render([req()])[0]).convert("RGB")
    end = png(r.render([req(role="end")])[0]).convert("RGB")
    lay = Layout.of(1344, 768)
    # the header badge differs (START vs END); the palette strip is the same
    assert start.crop(lay.header).tobytes() != end.crop(lay.header).tobytes()
    assert start.crop(lay.footer).tobytes() == end.crop(lay.footer).tobytes()


def test_end_frame_is_derived_from_the_init_image():
    """Given a start image, the end panel's shot is that image moved by the camera: a solid red start shot
    stays red after a push-in, whatever the seed would have drawn."""
    buf = io.BytesIO()
    Image.new("RGB", (1344, 768), (255, 0, 0)).save(buf, "PNG")
    end = png(SketchRenderer().render([req(role="end", init=buf.getvalue())])[0]).convert("RGB")
    x0, y0, x1, y1 = Layout.of(1344, 768).shot
    shot = end.crop((x0 + 40, y0 + 40, x1 - 40, y1 - 80))
    red = np.all(np.asarray(shot) == (255, 0, 0), axis=-1)
    assert red.mean() > 0.9


def test_end_frame_without_init_repeats_the_start_shot_moved():
    """No init image: the renderer redraws the start shot from the shared seed and moves it, so the end frame
    equals the one derived from the real start PNG."""
    r = SketchRenderer()
    start_png = r.render([req()])[0].png
    from_init = r.render([req(role="end", init=start_png)])[0].png
    redrawn = r.render([req(role="end")])[0].png
    a = Image.open(io.BytesIO(from_init)).convert("RGB")
    b = Image.open(io.BytesIO(redrawn)).convert("RGB")
    x0, y0, x1, y1 = Layout.of(1344, 768).shot
    box = (x0 + 60, y0 + 60, x1 - 60, y1 - 80)
    differs = np.any(np.asarray(a.crop(box)) != np.asarray(b.crop(box)), axis=-1)
    assert differs.mean() < 0.05


@pytest.mark.parametrize(
    ("camera", "move"),
    [
        ("close-up, slow push-in", "in"),
        ("wide shot, dolly out", "out"),
        ("medium shot, tracking right", "right"),
        ("medium shot, pan left", "left"),
        ("wide shot, crane up", "up"),
        ("medium shot, slow orbit left", "orbit"),
        ("locked-off static", "static"),
    ],
)
def test_camera_moves_are_read_and_drawn(camera, move):
    assert camera_move(camera) == move
    r = SketchRenderer()
    start = r.render([req(camera=camera)])[0].png
    end = png(r.render([req(role="end", camera=camera, init=start)])[0])
    assert end.size == (1344, 768)


def test_one_bad_frame_fails_alone():
    r = SketchRenderer()
    results = r.render([req(), req(role="end", init=b"not a png"), req(w=8, h=8)])
    assert results[0].ok
    assert not results[1].ok and "sketch panel failed" in results[1].error and results[1].png is None
    assert not results[2].ok and "too small" in results[2].error


def test_render_frames_derives_every_end_frame_from_its_start(planner, rambling):
    context = planner.extract_context(rambling)
    plan = planner.write_scenes(rambling, context, {}, 3)
    seen: list = []

    class Spy(SketchRenderer):
        def render(self, requests):
            seen.extend(requests)
            return super().render(requests)

    results = render_frames(
        "run-x",
        plan,
        frame_order(plan),
        Spy(),
        ImageGenerationConfig(),
        context,
        lambda fid: None,
        lambda r: None,
    )
    assert [r.frame_id for r in results] == ["s1-start", "s2-start", "s3-start", "s1-end", "s2-end", "s3-end"]
    assert all(r.ok for r in results)
    starts = {r.frame_id: r.png for r in results if r.frame_id.endswith("start")}
    for q in seen:
        if q.frame_id.endswith("end"):
            assert q.init_image == starts[q.frame_id.replace("end", "start")]
            assert q.meta["palette"] == context.color_palette


@pytest.mark.parametrize(("w", "h"), [(1344, 768), (768, 1344), (512, 512)])
def test_prompt_text_is_drawn_beside_or_under_the_shot(w, h):
    lay = Layout.of(w, h)
    if w >= h * 1.2:
        assert lay.side[0] > lay.shot[2]  # a column beside the shot
    else:
        assert lay.side[1] > lay.shot[3]  # stacked under it
    r = SketchRenderer()
    one = np.asarray(png(r.render([req(w=w, h=h)])[0]).convert("L").crop(lay.side))
    other = req(w=w, h=h)
    other.prompt = "wide shot of an empty beach at dawn"
    two = np.asarray(png(r.render([other])[0]).convert("L").crop(lay.side))
    assert (one < 80).mean() > 0.002  # ink: the camera facts and the wrapped prompt
    assert (one != two).any()  # and it is the prompt that was asked for
