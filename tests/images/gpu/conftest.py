"""A tiny SDXL-shaped pipeline built from config (random weights) and saved with save_pretrained, so the
provider loads it through its real from-a-local-folder path. Same architecture as SDXL (UNet with
addition_embed_type="text_time", two CLIP text encoders, the second with a projection, AutoencoderKL,
Euler scheduler), sizes small enough for a 64x64 image in a fraction of a second on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY_SIZE = 64  # pixels
TINY_STEPS = 2


def _write_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A byte-pair vocabulary of the lowercase letters (word-final and not) and a few merges."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in letters:
        vocab[c] = len(vocab)
    for c in letters:
        vocab[f"{c}</w>"] = len(vocab)
    merges = ["t h", "th e</w>", "a n", "i n", "e r", "o n"]
    for merge in merges:
        vocab.setdefault(merge.replace(" ", ""), len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder / "vocab.json", folder / "merges.txt"


def build_tiny_sdxl(folder: Path) -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    vocab, merges = _write_tokenizer_files(folder.parent / "tokenizer-src")
    tokenizer = CLIPTokenizer(vocab=str(vocab), merges=str(merges), model_max_length=77)
    text = {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "vocab_size": len(tokenizer),
        "max_position_embeddings": 77,
        "projection_dim": 32,
        "hidden_act": "gelu",
        "bos_token_id": 0,
        "eos_token_id": 1,
        "pad_token_id": 1,
    }
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text))
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**text))
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 1),
        cross_attention_dim=64,  # the two text encoders' hidden states, concatenated (32 + 32)
        addition_embed_type="text_time",  # SDXL's pooled-text + size/crop conditioning
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 32,  # six time ids + the pooled projection
        norm_num_groups=1,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=TINY_SIZE,
        norm_num_groups=1,
        force_upcast=False,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
    )
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sdxl(tmp_path_factory.mktemp("models") / "tiny-sdxl")


@pytest.fixture
def image_config(tiny_sdxl: Path):
    from storyreel.shared.settings import ImageGenerationConfig

    return ImageGenerationConfig(
        provider="diffusers",
        model=str(tiny_sdxl),
        width=TINY_SIZE,
        height=TINY_SIZE,
        steps=TINY_STEPS,
        seed=7,
        max_batch=8,
    )


@pytest.fixture
def pipeline_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every real pipeline call, at the class level: (pipeline class, batch size)."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

    calls: list[tuple[str, int]] = []
    for cls in (StableDiffusionXLPipeline, StableDiffusionXLImg2ImgPipeline):
        original = cls.__call__

        def spy(self, *args, __original=original, **kwargs):
            prompt = kwargs.get("prompt")
            calls.append((type(self).__name__, len(prompt) if isinstance(prompt, list) else 1))
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__call__", spy)
    return calls
