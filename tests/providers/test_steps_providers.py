"""The stage steps with the production providers against the fake vendors: every image provider with OpenAI
transcription and planning; usage lands in usage/*.json; a failed frame is marked failed with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from storyreel.services.images import step as images_step
from storyreel.services.scenes import step as scenes_step
from storyreel.services.transcribe import step as transcribe_step
from storyreel.shared.contracts import Frame, FrameStatus, Usage
from storyreel.shared.pipeline import RunContext, frame_order, outstanding
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, get_model

from testkit.vendors.openai import openai_error, planning_reply
from testkit.vendors.stability import stability_error


@pytest.mark.parametrize("image_provider", ["replicate", "stability", "openai"])
def test_steps_with_production_providers(
    image_provider, openai_server, replicate_server, stability_server, speech_wav: Path, tmp_path: Path
) -> None:
    openai_server.default_chat = planning_reply
    replicate_server.fail_prompts["shot 2 start"] = "NSFW content detected"
    stability_server.fault("generate", stability_error(403, "content_moderation", "flagged"))
    openai_server.fault(
        "images", openai_error(400, "rejected by safety system", "x", "content_policy_violation")
    )

    settings = Settings.model_validate(
        {
            "pipeline": {"scenes": 3},
            "transcription": {"provider": "openai"},
            "llm": {"provider": "openai"},
            "image_generation": {
                "provider": image_provider,
                "concurrency": 1,
                "timeout_s": 5,
                "max_retries": 1,
            },
        }
    )
    blobs = LocalBlobStore(tmp_path / "runs")
    blobs.put_bytes("r1/audio.wav", speech_wav.read_bytes())
    ctx = RunContext(run_id="r1", settings=settings, blobs=blobs, state=None)

    transcribe_step.run(ctx, "r1/audio.wav")
    scenes_step.context(ctx)
    plan = scenes_step.scenes(ctx)
    results = images_step.render(ctx)

    assert len(plan.scenes) == 3 and len(results) == 6
    frames = {fid: get_model(blobs, f"r1/frames/{fid}.json", Frame) for fid in frame_order(plan)}
    failed = [fid for fid, f in frames.items() if f.status == FrameStatus.failed]
    assert len(failed) == 1, frames
    assert frames[failed[0]].error and frames[failed[0]].image_key is None
    assert not blobs.exists(f"r1/frames/{failed[0]}.png")
    rendered = [fid for fid, f in frames.items() if f.status == FrameStatus.rendered]
    assert len(rendered) == 5 and all(blobs.exists(f"r1/frames/{fid}.png") for fid in rendered)

    usage_keys = blobs.list("r1/usage/")
    assert {"r1/usage/transcribe.json", "r1/usage/context.json", "r1/usage/scenes.json"} <= set(usage_keys)
    image_usage = [k for k in usage_keys if k.startswith("r1/usage/images.")]
    assert len(image_usage) == 1  # one blob per rendered set of frames
    rows = [Usage.model_validate(u) for k in image_usage for u in json.loads(blobs.get_bytes(k))]
    # flux-schnell, Stability core and gpt-image-1 cannot derive an end frame from its start frame, so all six
    # frames go out in one provider call (one usage row)
    assert len(rows) == 1
    assert sum(u.images for u in rows) == 5

    # retrying just the failed frame renders it and records its own usage without overwriting the rest
    replicate_server.fail_prompts.clear()
    retry = images_step.render(ctx, outstanding(ctx, plan))
    assert [r.frame_id for r in retry] == failed and retry[0].ok
    assert len([k for k in blobs.list("r1/usage/") if k.startswith("r1/usage/images.")]) == 2


def test_matched_end_frames_are_derived_from_their_start_frames(
    openai_server, replicate_server, speech_wav: Path, tmp_path: Path
) -> None:
    import base64

    openai_server.default_chat = planning_reply
    settings = Settings.model_validate(
        {
            "pipeline": {"scenes": 3},
            "transcription": {"provider": "openai"},
            "llm": {"provider": "openai"},
            "image_generation": {"provider": "replicate", "model": "stability-ai/sdxl:v1", "timeout_s": 5},
        }
    )
    blobs = LocalBlobStore(tmp_path / "runs")
    blobs.put_bytes("r2/audio.wav", speech_wav.read_bytes())
    ctx = RunContext(run_id="r2", settings=settings, blobs=blobs, state=None)
    transcribe_step.run(ctx, "r2/audio.wav")
    scenes_step.context(ctx)
    scenes_step.scenes(ctx)
    assert all(r.ok for r in images_step.render(ctx))
    creates = replicate_server.matching("POST", "/v1/predictions")
    ends = [c.json["input"] for c in creates if "image" in c.json["input"]]
    assert len(creates) == 6 and len(ends) == 3  # starts first, then each end from its start (img2img)
    for inp in ends:
        start_png = blobs.get_bytes(f"r2/frames/s{inp['prompt'].split('shot ')[1][0]}-start.png")
        assert base64.b64decode(inp["image"].split(",", 1)[1]) == start_png
        assert inp["prompt_strength"] == settings.image_generation.end_frame_strength
