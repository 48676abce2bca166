"""The diffusers provider on a tiny random SDXL, loaded from a local folder through its real path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from storyreel.services.images.providers.base import ImageRequest
from storyreel.services.images.providers.diffusers import (
    DiffusersProvider,
    detect_family,
    load_pipelines,
    pick_device,
    pick_dtype,
    resolve_model,
)
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ImageGenerationConfig

from tests.images.gpu.conftest import TINY_SIZE


def req(fid: str, seed: int, **kw) -> ImageRequest:
    base = {"prompt": f"a photo of {fid}", "negative_prompt": "", "width": TINY_SIZE, "height": TINY_SIZE}
    return ImageRequest(frame_id=fid, seed=seed, **{**base, **kw})


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_loads_on_cpu_in_fp32_with_sdpa_and_the_shared_img2img(image_config: ImageGenerationConfig) -> None:
    from diffusers.models.attention_processor import AttnProcessor2_0

    loaded = load_pipelines(image_config)
    assert loaded.device == pick_device("auto") == "cpu"
    assert str(loaded.dtype) == "torch.float32"
    assert loaded.family == "base"
    assert all(isinstance(p, AttnProcessor2_0) for p in loaded.txt2img.unet.attn_processors.values())
    # img2img is built on the same modules, not a second load
    assert loaded.img2img.unet is loaded.txt2img.unet
    assert loaded.img2img.vae is loaded.txt2img.vae
    assert load_pipelines(image_config) is loaded  # once per process


def test_batches_frames_into_few_pipeline_calls(image_config, pipeline_calls) -> None:
    provider = DiffusersProvider(image_config.model_copy(update={"max_batch": 2}))
    results = provider.render([req(f"s{i}-start", seed=i) for i in range(1, 6)])
    assert [r.frame_id for r in results] == [f"s{i}-start" for i in range(1, 6)]
    assert all(r.ok for r in results)
    assert pipeline_calls == [("StableDiffusionXLPipeline", 2)] * 2 + [("StableDiffusionXLPipeline", 1)]
    assert Image.open(io.BytesIO(results[0].png)).size == (TINY_SIZE, TINY_SIZE)

    pipeline_calls.clear()
    mixed = [req("s1-start", 1), req("s2-start", 2, width=2 * TINY_SIZE), req("s3-start", 3)]
    results = DiffusersProvider(image_config).render(mixed)
    # one call per size, results back in request order with the size each asked for
    assert sorted(pipeline_calls) == [("StableDiffusionXLPipeline", 1), ("StableDiffusionXLPipeline", 2)]
    assert [Image.open(io.BytesIO(r.png)).size for r in results] == [(64, 64), (128, 64), (64, 64)]


def test_seed_per_frame_reproduces_exactly_and_frames_differ(image_config) -> None:
    provider = DiffusersProvider(image_config)
    batch = [req("s1-start", 11), req("s2-start", 22), req("s3-start", 11, prompt="a photo of s1-start")]
    first = provider.render(batch)
    again = provider.render(batch)
    assert [r.png for r in first] == [r.png for r in again]  # same seeds, same call: identical bytes
    assert [r.seed for r in first] == [11, 22, 11]
    a, b, c = (pixels(r.png) for r in first)
    assert np.abs(a - b).mean() > 5  # a different seed and prompt is a different picture
    # Each frame has its own generator, so a frame's noise does not depend on its batch or its place in it
    # (the last bit of a pixel can differ: kernels round differently by batch size and position).
    assert np.abs(a - c).max() <= 2
    alone = pixels(provider.render([req("s2-start", 22)])[0].png)
    assert np.abs(alone - b).max() <= 2


def test_end_frame_is_img2img_from_the_start_frame(image_config, pipeline_calls, monkeypatch) -> None:
    from diffusers import StableDiffusionXLImg2ImgPipeline

    provider = DiffusersProvider(image_config)
    start = provider.render([req("s1-start", 5)])[0]
    inits: list[np.ndarray] = []
    spied = StableDiffusionXLImg2ImgPipeline.__call__  # the pipeline_calls spy, which calls the real one

    def record(self, *args, **kwargs):
        inits.extend(np.asarray(im).astype(np.int16) for im in kwargs["image"])
        assert kwargs["strength"] == 0.3
        return spied(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionXLImg2ImgPipeline, "__call__", record)
    pipeline_calls.clear()
    later = {"prompt": "the same shot, later", "strength": 0.3}
    end = provider.render([req("s1-end", 5, init_image=start.png, **later)])[0]
    assert end.ok and pipeline_calls == [("StableDiffusionXLImg2ImgPipeline", 1)]
    assert np.array_equal(inits[0], pixels(start.png))  # img2img started from the start frame itself
    assert b"Denoising strength: 0.3" in end.png
    # the end frame is a function of its start frame: same start -> same end, another start -> another end
    again = provider.render([req("s1-end", 5, init_image=start.png, **later)])[0]
    assert again.png == end.png
    grey = io.BytesIO()
    Image.new("RGB", (TINY_SIZE, TINY_SIZE), (128, 128, 128)).save(grey, format="PNG")
    other = provider.render([req("s1-end", 5, init_image=grey.getvalue(), **later)])[0]
    assert np.abs(pixels(other.png) - pixels(end.png)).mean() > 5


def test_out_of_memory_retries_smaller_then_fails_the_frame(image_config, monkeypatch) -> None:
    import torch
    from diffusers import StableDiffusionXLPipeline

    original = StableDiffusionXLPipeline.__call__
    sizes: list[int] = []

    def limited(self, *args, **kwargs):
        sizes.append(len(kwargs["prompt"]))
        if len(kwargs["prompt"]) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionXLPipeline, "__call__", limited)
    provider = DiffusersProvider(image_config.model_copy(update={"max_batch": 4}))
    results = provider.render([req(f"s{i}-start", i) for i in range(1, 4)])
    assert all(r.ok for r in results)
    assert sizes == [3, 1, 1, 1]  # the batch of 3 failed, then one frame per call
    assert provider.max_batch == 1

    def always(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(StableDiffusionXLPipeline, "__call__", always)
    results = DiffusersProvider(image_config).render([req("s1-start", 1), req("s2-start", 2)])
    assert [r.ok for r in results] == [False, False]
    assert all("out of memory at batch 1" in (r.error or "") for r in results)


def test_hub_download_is_refused_without_allow_download(image_config, tmp_path, monkeypatch) -> None:
    from diffusers import StableDiffusionXLPipeline

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    config = image_config.model_copy(update={"model": "stabilityai/sdxl-turbo", "allow_download": False})
    assert resolve_model(config) == ("stabilityai/sdxl-turbo", True)
    with pytest.raises(ConfigError, match="downloads are off"):
        DiffusersProvider(config).render([req("s1-start", 1)])

    seen: dict = {}

    def fake_from_pretrained(source, **kwargs):
        seen.update(kwargs, source=source)
        raise OSError("offline")

    monkeypatch.setattr(StableDiffusionXLPipeline, "from_pretrained", fake_from_pretrained)
    allowed = config.model_copy(update={"allow_download": True})
    with pytest.raises(ConfigError, match="cannot load"):
        load_pipelines(allowed)
    assert seen == {
        "source": "stabilityai/sdxl-turbo",
        "dtype": pick_dtype("cpu", "fp16"),
        "local_files_only": False,
    }


def test_model_errors_are_one_line_config_errors(image_config, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"image_generation\.model is required"):
        DiffusersProvider(image_config.model_copy(update={"model": None}))
    with pytest.raises(ConfigError, match="model directory not found"):
        resolve_model(image_config.model_copy(update={"model": str(tmp_path / "nope")}))
    with pytest.raises(ConfigError, match=r"no model_index\.json"):
        resolve_model(image_config.model_copy(update={"model": str(tmp_path)}))
    with pytest.raises(ConfigError, match="unknown scheduler 'warp'"):
        load_pipelines(image_config.model_copy(update={"scheduler": "warp"}))


def test_family_picks_scheduler_steps_and_guidance(image_config) -> None:
    assert detect_family(image_config.model_copy(update={"model": "/m/sdxl-lightning-4step"})) == "lightning"
    assert detect_family(image_config.model_copy(update={"model": "/m/SDXL-Turbo"})) == "turbo"
    assert detect_family(image_config, shipped_scheduler="LCMScheduler") == "lcm"
    assert detect_family(image_config) == "base"

    lightning = image_config.model_copy(update={"model_family": "lightning", "steps": None})
    loaded = load_pipelines(lightning)
    provider = DiffusersProvider(lightning)
    assert type(loaded.txt2img.scheduler).__name__ == "EulerDiscreteScheduler"
    assert loaded.txt2img.scheduler.config.timestep_spacing == "trailing"
    assert (provider.steps(loaded), provider.guidance(loaded)) == (4, 0.0)

    lcm = image_config.model_copy(update={"model_family": "lcm", "steps": None, "scheduler": None})
    loaded = load_pipelines(lcm)
    assert type(loaded.txt2img.scheduler).__name__ == "LCMScheduler"
    assert DiffusersProvider(lcm).steps(loaded) == 4

    chosen = image_config.model_copy(update={"scheduler": "dpmpp_2m_karras"})
    scheduler = load_pipelines(chosen).txt2img.scheduler
    assert type(scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert scheduler.config.use_karras_sigmas is True
    assert DiffusersProvider(chosen).render([req("s1-start", 1)])[0].ok


def test_model_from_s3_is_synced_once_then_loaded_locally(image_config, tiny_sdxl: Path, tmp_path) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from storyreel.services.images.providers.diffusers import sync_s3_model

    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        for f in tiny_sdxl.rglob("*"):
            if f.is_file():
                s3.upload_file(str(f), "models", f"sdxl/tiny/{f.relative_to(tiny_sdxl).as_posix()}")
        config = image_config.model_copy(
            update={"model": "s3://models/sdxl/tiny", "model_cache_dir": str(tmp_path / "cache")}
        )
        source, local_only = resolve_model(config)
        assert Path(source) == tmp_path / "cache" / "models" / "sdxl" / "tiny"
        assert local_only and (Path(source) / "unet" / "config.json").is_file()
        result = DiffusersProvider(config).render([req("s1-start", 3)])[0]
        assert result.ok and result.model == "s3://models/sdxl/tiny"
        # a warm cache fetches only what is new
        s3.put_object(Bucket="models", Key="sdxl/tiny/extra.txt", Body=b"x")
        fetched: list[str] = []
        download = s3.download_file
        s3.download_file = lambda bucket, key, dest: (fetched.append(key), download(bucket, key, dest))
        again = sync_s3_model("s3://models/sdxl/tiny", tmp_path / "cache", client=s3)
        assert fetched == ["sdxl/tiny/extra.txt"]
        assert (again / "extra.txt").read_bytes() == b"x"
        with pytest.raises(ConfigError, match="no objects"):
            sync_s3_model("s3://models/missing", tmp_path / "cache", client=s3)


def test_a_provider_resolves_its_model_once_not_per_render(image_config, monkeypatch) -> None:
    import storyreel.services.images.providers.diffusers as diffusers

    calls = []
    real = diffusers.resolve_model

    def counting(config):
        calls.append(config.model)
        return real(config)

    monkeypatch.setattr(diffusers, "resolve_model", counting)
    provider = DiffusersProvider(image_config)
    provider.render([req("s1-start", 1)])
    provider.render([req("s2-start", 2)])  # the worker calls render once per chunk; an s3:// model syncs once
    assert len(calls) == 1
