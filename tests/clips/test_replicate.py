"""Clips through Replicate at the wire: the real SDK against testkit's fake Replicate (uploads, predictions,
polls, MP4 outputs checked with ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from clips_testkit import keyframed_run
from storyreel.services.clips import step as clips_step
from storyreel.services.clips.models import CLIP_MODELS, clip_model, plan_clip
from storyreel.shared.contracts import ClipStatus, ScenePlan
from storyreel.shared.errors import ConfigError
from storyreel.shared.pipeline import SCENES, current_plan
from storyreel.shared.stores import get_model, get_optional_bytes, put_model

from testkit.vendors.media import tiny_png
from testkit.vendors.replicate import replicate_error

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def ffprobe_video(data: bytes, tmp_path) -> dict:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe not installed (make sysdeps)")
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    out = subprocess.run(
        [exe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("model", sorted(CLIP_MODELS))
def test_every_model_gets_its_own_first_and_last_frame_fields(model, replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path, {"model": model})
    clips = clips_step.generate(ctx, [1])
    (clip,) = clips
    assert clip.status == ClipStatus.done, clip.reason
    spec = CLIP_MODELS[model]
    (create,) = replicate_server.matching("POST", f"/v1/models/{model}/predictions")
    inputs = create.json["input"]
    # the keyframes went up as files (POST /v1/files), the prediction names their URLs in the model's fields
    uploads = {
        f"{replicate_server.url}/uploads/{fid}": data for fid, (_, data) in replicate_server.uploads.items()
    }
    start_png = ctx.blobs.get_bytes(ctx.key("frames/s1-start.png"))
    end_png = ctx.blobs.get_bytes(ctx.key("frames/s1-end.png"))
    assert uploads[inputs[spec.start_field]] == start_png and uploads[inputs[spec.end_field]] == end_png
    assert start_png != end_png
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    assert inputs[spec.duration_field] == plan_clip(spec, plan.scenes[0].duration, None, None)[0]
    assert (spec.resolution_field in inputs) == (spec.resolution_field is not None)
    assert create.headers["authorization"] == "Bearer r8_test_token"


def test_clips_are_real_mp4s_recorded_per_scene_and_folded_into_the_plan(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path, {"model": "google/veo-3.1", "max_concurrency": 2})
    clips = clips_step.generate(ctx)
    assert [c.status for c in clips] == [ClipStatus.done] * 3
    first = clips[0]
    assert (
        first.video_key == "clips/s1.mp4"
        and first.provider == "replicate"
        and first.model == "google/veo-3.1"
    )
    assert first.seconds in (4.0, 6.0, 8.0) and first.resolution == "1080p"
    assert first.cost_usd == pytest.approx(0.40 * first.seconds)  # the table's dated price
    assert first.prediction_id and first.render_seconds is not None
    probe = ffprobe_video(ctx.blobs.get_bytes(ctx.key("clips/s1.mp4")), tmp_path)
    assert probe["streams"][0]["codec_type"] == "video" and float(probe["format"]["duration"]) > 0
    plan = current_plan(ctx)
    assert [s.clip.status for s in plan.scenes] == [ClipStatus.done] * 3
    usage = json.loads(ctx.blobs.get_bytes(ctx.key("usage/clips.s1_s3.3.json")))
    assert usage[0]["stage"] == "clips" and usage[0]["cost_usd"] == pytest.approx(
        sum(c.cost_usd for c in clips)
    )


def test_a_failed_clip_is_that_scenes_record_and_the_others_finish(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path)
    plan = current_plan(ctx)
    replicate_server.fail_prompts[plan.scenes[1].description.strip()[:30]] = "NSFW content detected"
    clips = clips_step.generate(ctx)
    assert [c.status for c in clips] == [ClipStatus.done, ClipStatus.failed, ClipStatus.done]
    assert clips[1].reason == "the model failed: NSFW content detected" and clips[1].video_key is None
    assert clips[1].cost_usd is None
    assert ctx.blobs.get_bytes(ctx.key("clips/s2.json"))
    assert get_optional_bytes(ctx.blobs, ctx.key("clips/s2.mp4")) is None


def test_a_refused_create_is_the_clips_reason(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path)
    replicate_server.fault("create-model", replicate_error(422, "duration must be one of 6, 10"))
    clips = clips_step.generate(ctx, [1])
    assert clips[0].status == ClipStatus.failed
    assert clips[0].reason == "Replicate rejected the model input (422): duration must be one of 6, 10"


def test_a_length_the_model_does_not_make_is_one_error_before_any_prediction(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path, {"model": "minimax/hailuo-02", "seconds": 8})
    with pytest.raises(
        ConfigError,
        match=r"^clips\.seconds 8 is not a length minimax/hailuo-02 makes \(it takes 6, 10 s\)$",
    ):
        clips_step.generate(ctx)
    assert replicate_server.requests == []
    ctx = keyframed_run(
        tmp_path / "b", {"model": "pixverse/pixverse-v4", "seconds": 8, "resolution": "1080p"}
    )
    with pytest.raises(ConfigError, match="cannot make a 8 s clip at 1080p: 1080p does not take 8 s"):
        clips_step.generate(ctx)
    ctx = keyframed_run(tmp_path / "c", {"model": "kwaivgi/kling-o1", "resolution": "720p"})
    with pytest.raises(ConfigError, match="it takes no resolution"):
        clips_step.generate(ctx)
    assert replicate_server.requests == []


def test_a_combination_refused_per_scene_names_the_scene(replicate_server, tmp_path):
    # 1080p is fine for 6 s, but a 9 s scene is made 10 s long, which hailuo makes only at 768p
    ctx = keyframed_run(tmp_path, {"model": "minimax/hailuo-02", "resolution": "1080p"})
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    for scene in plan.scenes:
        scene.duration = 9.0 if scene.index == 2 else 4.0
    put_model(ctx.blobs, ctx.key(SCENES), plan)
    with pytest.raises(ConfigError, match=r"^scene 2: minimax/hailuo-02 cannot make a 10 s clip at 1080p"):
        clips_step.generate(ctx)
    assert replicate_server.requests == []


def test_the_model_table_limits():
    hailuo = clip_model("minimax/hailuo-02")
    assert plan_clip(hailuo, 3.0, None, None) == (6, "768p")
    assert plan_clip(hailuo, 9.0, None, None) == (10, "768p")
    with pytest.raises(ConfigError, match="10 s clips only at 768p"):
        plan_clip(hailuo, 9.0, None, "1080p")
    with pytest.raises(ConfigError, match="not made at 512p"):
        plan_clip(hailuo, 3.0, None, "512p")
    assert plan_clip(clip_model("luma/ray-flash-2-720p"), 7.0, None, None) == (9, None)  # tie: the longer
    assert plan_clip(clip_model("bytedance/seedance-2.0"), 3.4, None, None) == (3, "720p")
    with pytest.raises(ConfigError, match=r"unknown clips\.model 'acme/video'"):
        clip_model("acme/video")


def test_scenes_without_both_keyframes_are_recorded_failed_with_why(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path, limit_images=3)  # s1 both, s2 start only, s3 none
    clips = clips_step.generate(ctx)
    assert [c.status for c in clips] == [ClipStatus.done, ClipStatus.failed, ClipStatus.failed]
    assert clips[1].reason == "needs both keyframes rendered: s2-end is pending"
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == 1


def test_a_download_past_the_bound_is_refused(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path, {"max_bytes": 1024})
    replicate_server.clip_seconds = 4.0
    (clip,) = clips_step.generate(ctx, [1])
    assert clip.status == ClipStatus.failed and "more than clips.max_bytes (1,024" in clip.reason


def test_an_output_that_is_not_an_mp4_is_refused(replicate_server, tmp_path):
    from testkit.vendors.server import Reply

    ctx = keyframed_run(tmp_path)
    replicate_server.fault("video", Reply(200, tiny_png(), headers={"content-type": "video/mp4"}))
    (clip,) = clips_step.generate(ctx, [1])
    assert clip.status == ClipStatus.failed and clip.reason.startswith("the clip is not an MP4")
    assert PNG_MAGIC  # the fault above answered a PNG


def test_an_unknown_scene_is_a_user_error(replicate_server, tmp_path):
    ctx = keyframed_run(tmp_path)
    with pytest.raises(ConfigError, match=r"scene 9 is not in this run \(it has scenes 1-3\)"):
        clips_step.generate(ctx, [9])
