"""The same subject in every shot on the diffusers path: a tiny IP-Adapter built from config (random weights: a
CLIP vision encoder with projection, the image projection and the to_k_ip/to_v_ip weights of every cross
attention of the tiny SDXL UNet), saved to a folder in the layout load_ip_adapter reads, loaded by the provider
through `pipe.load_ip_adapter`, and applied through `ip_adapter_image`: the attention processors become
IPAdapterAttnProcessor, and the frame changes with the reference image (and not without the adapter's scale)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from storyreel.services.images.providers.base import ImageRequest
from storyreel.services.images.providers.diffusers import DiffusersProvider

from tests.images.gpu.conftest import TINY_SIZE

WEIGHTS = "ip_adapter.safetensors"
CLIP_DIM = 16  # the image encoder's projection


def build_tiny_ip_adapter(sdxl: Path, folder: Path) -> Path:
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(1)
    CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, projection_dim=CLIP_DIM, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, image_size=32, patch_size=4,
        )
    ).save_pretrained(folder / "image_encoder")  # fmt: skip
    unet = UNet2DConditionModel.from_pretrained(sdxl / "unet")
    cross = unet.config.cross_attention_dim
    blocks = list(unet.config.block_out_channels)
    tensors = {
        "image_proj.proj.weight": torch.randn(4 * cross, CLIP_DIM) * 0.5,
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1  # the adapter numbers the cross attentions 1, 3, 5, ... in the UNet's processor order
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = blocks[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(blocks))[int(name[len("up_blocks.")])]
        else:
            hidden = blocks[int(name[len("down_blocks.")])]
        tensors[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross) * 0.5
        tensors[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross) * 0.5
        key_id += 2
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / WEIGHTS))
    return folder


@pytest.fixture(scope="session")
def tiny_ip_adapter(tiny_sdxl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ip_adapter(tiny_sdxl, tmp_path_factory.mktemp("models") / "tiny-ip-adapter")


def png(color: tuple[int, int, int], pattern: bool = False) -> bytes:
    img = Image.new("RGB", (TINY_SIZE, TINY_SIZE), color)
    if pattern:
        arr = np.asarray(img).copy()
        arr[::4, :, :] = 255 - arr[::4, :, :]
        img = Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def req(fid: str, reference: bytes | None) -> ImageRequest:
    return ImageRequest(
        frame_id=fid, prompt="a red cup", negative_prompt="", width=TINY_SIZE, height=TINY_SIZE, seed=11,
        reference_image=reference,
    )  # fmt: skip


def pixels(data: bytes | None) -> np.ndarray:
    assert data is not None
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


def test_the_reference_is_loaded_into_the_unet_and_changes_the_frame(image_config, tiny_ip_adapter):
    from diffusers.models.attention_processor import IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0

    config = image_config.model_copy(
        update={
            "subject_reference": "first-frame",
            "ip_adapter": str(tiny_ip_adapter),
            "ip_adapter_subfolder": "",
            "ip_adapter_weight": WEIGHTS,
            "ip_adapter_scale": 1.0,
        }
    )
    provider = DiffusersProvider(config)
    (plain,) = provider.render([req("s1-start", None)])  # the first frame: no adapter loaded yet
    assert plain.ok and not provider._ip_adapter

    red, blue = png((220, 30, 30)), png((30, 30, 220), pattern=True)
    a, b, a_again = provider.render([req("s2-start", red), req("s3-start", blue), req("s4-start", red)])
    assert a.ok and b.ok and a_again.ok, (a.error, b.error)
    unet = provider.pipelines().txt2img.unet  # type: ignore[attr-defined]
    cross = {n: p for n, p in unet.attn_processors.items() if not n.endswith("attn1.processor")}
    assert cross and all(
        isinstance(p, IPAdapterAttnProcessor | IPAdapterAttnProcessor2_0) for p in cross.values()
    )
    assert provider.pipelines().txt2img.image_encoder is not None  # type: ignore[attr-defined]

    # same prompt and seed: only the reference differs, and it changes the picture; the same one repeats it
    assert np.abs(pixels(a.png) - pixels(b.png)).mean() > 1.0
    assert np.array_equal(pixels(a.png), pixels(a_again.png))

    # a frame without a reference, with the adapter loaded, runs at scale 0: the plain picture again
    (again,) = provider.render([req("s1-start", None)])
    assert np.abs(pixels(again.png) - pixels(plain.png)).max() <= 1


def test_a_reference_without_an_adapter_is_one_config_error(image_config):
    from storyreel.shared.errors import ConfigError

    with pytest.raises(ConfigError, match=r"subject_reference needs image_generation\.ip_adapter"):
        DiffusersProvider(image_config.model_copy(update={"subject_reference": "given"}))
