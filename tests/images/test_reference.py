"""The same subject in every shot through the image step: the first keyframe (or the given reference) goes to
every other frame's request, each frame records which reference conditioned it and how its seed was chosen."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from storyreel.services.images import step as images_step
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.services.scenes import step as scenes_step
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import Frame
from storyreel.shared.errors import InputError
from storyreel.shared.pipeline import TRANSCRIPT, current_plan
from storyreel.shared.settings import Settings
from storyreel.shared.stores import put_model

from testkit.briefs import asr_transcript
from testkit.fakes import make_context, make_providers, png


class Recorder:
    """An image provider that answers a distinct PNG per frame and keeps every call's requests."""

    name = "recorder"
    placeholder = False
    supports_init_image = True
    supports_reference = True
    model = "recorder-1"

    def __init__(self) -> None:
        self.calls: list[list[ImageRequest]] = []

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        self.calls.append(list(requests))
        colors = {"start": "#aa2222", "end": "#2222aa"}
        return [
            ImageResult(r.frame_id, png(colors[r.frame_id.split("-")[1]], (16 + i, 9)), 0.01, r.seed)
            for i, r in enumerate(requests)
        ]


def run_with(root: Path, mode: str, recorder: Recorder):
    settings = Settings.model_validate(
        {"pipeline": {"scenes": 3}, "image_generation": {"subject_reference": mode}}
    )
    ctx = make_context(
        root, settings=settings, providers=make_providers(planner=LocalPlanner(), images=recorder)
    )
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), asr_transcript())
    scenes_step.context(ctx)
    scenes_step.scenes(ctx)
    return ctx


def frames(ctx) -> dict[str, Frame]:
    return {f"s{s.index}-{f.role}": f for s in current_plan(ctx).scenes for f in s.frames()}


def test_first_frame_reference_conditions_every_other_frame(tmp_path):
    rec = Recorder()
    ctx = run_with(tmp_path, "first-frame", rec)
    results = images_step.render(ctx)
    assert all(r.ok for r in results)
    assert [r.frame_id for r in rec.calls[0]] == ["s1-start"] and rec.calls[0][0].reference_image is None
    first_png = ctx.blobs.get_bytes(ctx.key("frames/s1-start.png"))
    later = [r for call in rec.calls[1:] for r in call]
    assert sorted(r.frame_id for r in later) == ["s1-end", "s2-end", "s2-start", "s3-end", "s3-start"]
    assert all(r.reference_image == first_png for r in later)
    recorded = frames(ctx)
    assert recorded["s1-start"].reference is None
    assert {recorded[f].reference for f in recorded if f != "s1-start"} == {"frames/s1-start.png"}
    assert {f.seed_policy for f in recorded.values()} == {"scene"}


def pixels(data: bytes) -> tuple[str | None, tuple[int, int], list[tuple[int, ...]]]:
    with Image.open(io.BytesIO(data)) as img:
        raw = img.convert("RGB").tobytes()
        return img.format, img.size, [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]


def test_a_given_reference_conditions_every_frame_and_off_none(tmp_path):
    rec = Recorder()
    ctx = run_with(tmp_path / "given", "given", rec)
    with pytest.raises(InputError, match=r"has no reference/subject\.png: upload it before the brief"):
        images_step.render(ctx)
    given = png("#33aa33", (20, 20))
    ctx.blobs.put_bytes(ctx.key(images_step.REFERENCE_KEY), given, "image/png")
    rec.calls.clear()
    images_step.render(ctx)
    sent = {r.reference_image for call in rec.calls for r in call}
    assert len(sent) == 1 and pixels(sent.pop()) == pixels(given)
    assert {f.reference for f in frames(ctx).values()} == {"reference/subject.png"}


def test_a_reference_uploaded_as_jpeg_reaches_the_provider_as_png(tmp_path):
    """POST /runs signs the reference's own Content-Type: a JPEG lands under reference/subject.png as sent."""
    rec = Recorder()
    ctx = run_with(tmp_path, "given", rec)
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), "#3366cc").save(buf, format="JPEG")
    ctx.blobs.put_bytes(ctx.key(images_step.REFERENCE_KEY), buf.getvalue(), "image/jpeg")
    images_step.render(ctx)
    sent = {r.reference_image for call in rec.calls for r in call}
    assert len(sent) == 1
    fmt, size, data = pixels(sent.pop())
    assert fmt == "PNG" and size == (24, 16)
    assert all(abs(a - b) <= 8 for px in data for a, b in zip(px, (0x33, 0x66, 0xCC), strict=True))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "is empty"),
        (b"not an image at all", "is not an image Pillow can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "is not an image Pillow can read"),  # a truncated PNG
    ],
)
def test_a_bad_reference_fails_the_images_stage_with_one_line(tmp_path, data, why):
    ctx = run_with(tmp_path, "given", Recorder())
    ctx.blobs.put_bytes(ctx.key(images_step.REFERENCE_KEY), data, "image/png")
    with pytest.raises(InputError, match=why) as err:
        images_step.render(ctx)
    assert "\n" not in str(err.value)


def test_a_huge_reference_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(images_step, "MAX_REFERENCE_BYTES", 1000)
    ctx = run_with(tmp_path, "given", Recorder())
    ctx.blobs.put_bytes(
        ctx.key(images_step.REFERENCE_KEY), png("#123456", (20, 20)) + b"\0" * 2000, "image/png"
    )
    reads: list[int | None] = []
    real = type(ctx.blobs).get_bytes

    def spy(self, key, max_bytes=None):
        reads.append(max_bytes)
        return real(self, key, max_bytes)

    monkeypatch.setattr(type(ctx.blobs), "get_bytes", spy)
    with pytest.raises(InputError, match="over 1000 bytes: refused unread"):
        images_step.render(ctx)
    assert 1000 in reads

    off = Recorder()
    ctx = run_with(tmp_path / "off", "off", off)
    images_step.render(ctx)
    assert all(r.reference_image is None for call in off.calls for r in call)
    assert {f.reference for f in frames(ctx).values()} == {None}


def test_a_provider_that_takes_no_reference_gets_none_and_its_frames_record_none(tmp_path):
    rec = Recorder()
    rec.supports_reference = False
    ctx = run_with(tmp_path, "first-frame", rec)
    images_step.render(ctx)
    assert len(rec.calls) == 2  # starts, then ends: no reference pass
    assert all(r.reference_image is None for call in rec.calls for r in call)
    assert {f.reference for f in frames(ctx).values()} == {None}


def test_a_regenerated_frame_records_a_given_seed(tmp_path):
    rec = Recorder()
    ctx = run_with(tmp_path, "first-frame", rec)
    images_step.render(ctx)
    plan = current_plan(ctx)
    out = images_step.render_candidates(
        ctx, plan, ["s2-start"], lambda fid: ctx.blobs.get_bytes(ctx.key(f"frames/{fid}.png")), seed=7,
        usage_stage="test",
    )  # fmt: skip
    ((res, frame),) = out
    assert res.seed == 7 and frame.seed_policy == "given" and frame.reference == "frames/s1-start.png"
    assert rec.calls[-1][0].reference_image == ctx.blobs.get_bytes(ctx.key("frames/s1-start.png"))


def test_replicate_kontext_gets_the_reference_as_its_input_image(tmp_path, monkeypatch):
    """At the wire: the real SDK against the fake Replicate; flux-kontext-pro's `input_image` is the reference."""
    import base64

    from storyreel.services.images.providers.replicate import ReplicateProvider
    from storyreel.shared.settings import ImageGenerationConfig

    from testkit.vendors.replicate import FakeReplicate

    with FakeReplicate() as server:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test_token")
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
        provider = ReplicateProvider(
            ImageGenerationConfig(provider="replicate", model="black-forest-labs/flux-kontext-pro")
        )
        assert provider.supports_reference
        settings = Settings.model_validate(
            {
                "pipeline": {"scenes": 3},
                "image_generation": {
                    "provider": "replicate",
                    "model": "black-forest-labs/flux-kontext-pro",
                    "subject_reference": "first-frame",
                },
            }
        )
        ctx = make_context(
            tmp_path, settings=settings, providers=make_providers(planner=LocalPlanner(), images=provider)
        )
        put_model(ctx.blobs, ctx.key(TRANSCRIPT), asr_transcript())
        scenes_step.context(ctx)
        scenes_step.scenes(ctx)
        assert all(r.ok for r in images_step.render(ctx))
        creates = server.matching("POST", "/v1/models/black-forest-labs/flux-kontext-pro/predictions")
        first_png = ctx.blobs.get_bytes(ctx.key("frames/s1-start.png"))
        with_ref = [c for c in creates if "input_image" in c.json["input"]]
        assert len(creates) == 6 and len(with_ref) == 5
        (plain,) = [c for c in creates if "input_image" not in c.json["input"]]
        assert plain.json["input"]["prompt"] == current_plan(ctx).scenes[0].start_frame.prompt
        for c in with_ref:
            data = base64.b64decode(c.json["input"]["input_image"].split(",", 1)[1])
            assert data == first_png
        assert {f.reference for f in frames(ctx).values()} == {None, "frames/s1-start.png"}
