"""The diffusers clip provider on CPU: a tiny Wan 2.1 first/last-frame pipeline built from config (random
weights: UMT5 text encoder, CLIP vision encoder, Wan VAE and 3D transformer with the FLF2V image position
embedding) and saved with save_pretrained, loaded back by the provider's real from-a-local-folder path; the
real `WanImageToVideoPipeline(image=start, last_image=end)` runs, and the MP4 is read back with ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from clips_testkit import keyframed_run

pytest.importorskip("diffusers")
pytest.importorskip("ftfy")  # the Wan pipelines clean prompts with it

from storyreel.services.clips import step as clips_step
from storyreel.shared.contracts import ClipStatus

SIZE, FRAMES, STEPS = 32, 5, 2


def build_tiny_wan(folder: Path) -> Path:
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        PreTrainedTokenizerFast,
        UMT5Config,
        UMT5EncoderModel,
    )

    words = [
        "<pad>",
        "</s>",
        "<unk>",
        *["a", "the", "of", "scene", "start", "end", "camera", "ending", "on", "light"],
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=32
    )
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(words), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        )
    )  # fmt: skip
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    # 4x4 patches + the class token = 17 image tokens; first and last frame: 34 (pos_embed_seq_len, FLF2V)
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=4,
            intermediate_size=16, patch_size=1,
        )
    )  # fmt: skip
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4, pos_embed_seq_len=2 * (4 * 4 + 1),
    )  # fmt: skip
    pipe = WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=4, size=4),
        image_encoder=image_encoder,
        transformer=transformer,
    )
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_wan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_wan(tmp_path_factory.mktemp("models") / "tiny-wan-flf2v")


def probe(path: Path) -> dict:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.skip("ffprobe not installed (make sysdeps)")
    out = subprocess.run(
        [exe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)["streams"][0]


def test_wan_flf2v_makes_each_clip_from_its_start_and_end_keyframe(tiny_wan, tmp_path, monkeypatch):
    from diffusers import WanImageToVideoPipeline

    calls: list[dict] = []
    original = WanImageToVideoPipeline.__call__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(WanImageToVideoPipeline, "__call__", spy)
    clips = {
        "provider": "diffusers", "model": str(tiny_wan), "width": SIZE, "height": SIZE, "frames": FRAMES,
        "steps": STEPS, "guidance_scale": 1.0, "fps": 8, "device": "cpu", "precision": "fp32",
    }  # fmt: skip
    ctx = keyframed_run(tmp_path / "run", clips)
    made = clips_step.generate(ctx, [1, 2])
    assert [c.status for c in made] == [ClipStatus.done, ClipStatus.done], [c.reason for c in made]
    assert made[0].provider == "diffusers" and made[0].resolution == f"{SIZE}x{SIZE}"
    assert made[0].seconds == pytest.approx(FRAMES / 8)

    # the real pipeline got each scene's own keyframes as its first and last image
    assert len(calls) == 2
    from PIL import Image

    for n, call in zip((1, 2), calls, strict=True):
        start = (
            Image.open(ctx.blobs._path(ctx.key(f"frames/s{n}-start.png"))).convert("RGB").resize((SIZE, SIZE))
        )
        end = Image.open(ctx.blobs._path(ctx.key(f"frames/s{n}-end.png"))).convert("RGB").resize((SIZE, SIZE))
        assert call["image"].tobytes() == start.tobytes() and call["last_image"].tobytes() == end.tobytes()
        assert call["num_frames"] == FRAMES and call["height"] == SIZE

    stream = probe(ctx.blobs._path(ctx.key("clips/s1.mp4")))
    assert stream["codec_type"] == "video"
    assert (stream["width"], stream["height"]) == (SIZE, SIZE)
    assert int(stream["nb_read_frames"]) == FRAMES
    assert ctx.blobs.get_bytes(ctx.key("clips/s1.mp4")) != ctx.blobs.get_bytes(ctx.key("clips/s2.mp4"))


def test_a_missing_model_folder_is_one_config_error(tmp_path):
    from storyreel.services.clips.providers.diffusers import WanClips
    from storyreel.shared.errors import ConfigError
    from storyreel.shared.settings import ClipsConfig

    provider = WanClips(ClipsConfig(provider="diffusers", model=str(tmp_path / "nope"), device="cpu"))
    with pytest.raises(ConfigError, match="is not a local folder nor in the Hugging Face cache"):
        provider._pipe()
