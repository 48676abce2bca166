"""diffusers SDXL on a local GPU (or CPU, slowly): SDXL base and the few-step variants (Turbo, Lightning, LCM).

- The model comes from a local diffusers directory, or an `s3://bucket/prefix` synced into a local cache first.
  A hub id is loaded only from the local Hugging Face cache unless `image_generation.allow_download` is on.
- One pipeline per process (cached): fp16/bf16 on a GPU (fp32 on CPU), SDPA attention, channels_last,
  VAE slicing/tiling, optional torch.compile.
- Requests are rendered in as few pipeline calls as memory allows: grouped by size (and by what changes the
  call: init image, strength, negative prompt), chunked by `max_batch`, halved on out-of-memory.
- One CPU `torch.Generator` per frame seeded with the request's seed, so a frame's starting noise does not
  depend on the device or on which other frames share its batch.
- Matched keyframes: a request with `init_image` (the scene's start frame) goes through
  `StableDiffusionXLImg2ImgPipeline`, built with `from_pipe` from the same components (no second load).
"""

from __future__ import annotations

import io
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.errors import ConfigError, ProviderError
from storyreel.shared.settings import ImageGenerationConfig

if TYPE_CHECKING:
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
    from PIL import Image

log = logging.getLogger("storyreel.images.diffusers")


# --------------------------------------------------------------------------- families
@dataclass(frozen=True)
class FamilyDefaults:
    steps: int
    guidance: float
    scheduler: str | None  # None: the scheduler the model ships with
    scheduler_kwargs: tuple[tuple[str, Any], ...] = ()


# Published recommendations: SDXL base 30 steps / CFG 5; SDXL-Turbo 1-4 steps without CFG (Euler ancestral,
# trailing spacing); SDXL-Lightning 4-step checkpoint without CFG (Euler, trailing); LCM 4 steps, LCMScheduler
# (guidance 1.0 = no CFG for LCM-LoRA; a distilled LCM UNet embeds its guidance, see _guidance).
FAMILIES: dict[str, FamilyDefaults] = {
    "base": FamilyDefaults(steps=30, guidance=5.0, scheduler=None),
    "turbo": FamilyDefaults(
        steps=4,
        guidance=0.0,
        scheduler="EulerAncestralDiscreteScheduler",
        scheduler_kwargs=(("timestep_spacing", "trailing"),),
    ),
    "lightning": FamilyDefaults(
        steps=4,
        guidance=0.0,
        scheduler="EulerDiscreteScheduler",
        scheduler_kwargs=(("timestep_spacing", "trailing"),),
    ),
    "lcm": FamilyDefaults(steps=4, guidance=1.0, scheduler="LCMScheduler"),
}

# Short scheduler names (config `scheduler`); any diffusers scheduler class name works too.
SCHEDULER_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "euler_ancestral": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "tcd": ("TCDScheduler", {}),
}


def detect_family(config: ImageGenerationConfig, shipped_scheduler: str | None = None) -> str:
    """`model_family` if set, else from the model's name, else from the scheduler it ships with."""
    if config.model_family != "auto":
        return config.model_family
    name = (config.model or "").lower()
    for family in ("lightning", "turbo", "lcm"):
        if family in name:
            return family
    if shipped_scheduler == "LCMScheduler":
        return "lcm"
    return "base"


# --------------------------------------------------------------------------- device, dtype, optimizations
def pick_device(preference: str = "auto") -> str:
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preference == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (preference == "cuda" and not cuda) or (preference == "mps" and not mps):
        raise ConfigError(f"image_generation.device is {preference!r} but this machine has no {preference}")
    return preference


def pick_dtype(device: str, precision: str) -> torch.dtype:
    """fp16/bf16 on a GPU as configured; fp32 on CPU (half precision there is slower, and unsupported by some ops)."""
    import torch

    if device == "cpu" or precision == "fp32":
        return torch.float32
    if precision == "bf16":
        if device == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("image_generation.precision is bf16 but this GPU does not support bfloat16")
        return torch.bfloat16
    return torch.float16


@dataclass(frozen=True)
class Optimizations:
    sdpa: bool = True  # PyTorch scaled_dot_product_attention (flash / memory-efficient kernels)
    channels_last: bool = True
    vae_slicing: bool = True  # decode a batch one image at a time: flat VAE memory in the batch size
    vae_tiling: bool = True  # decode large images in tiles (no effect at or below the VAE's tile size)
    compile: bool = False
    compile_mode: str = "default"  # fast to compile; "max-autotune" is faster to run, minutes to compile


def optimize_pipeline(pipe: Any, opts: Optimizations) -> None:
    """Apply the switches to a loaded SDXL pipeline in place (used by the provider and by bench/gpu_sdxl.py)."""
    import torch
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    processor = AttnProcessor2_0 if opts.sdpa else AttnProcessor
    pipe.unet.set_attn_processor(processor())
    pipe.vae.set_attn_processor(processor())
    if opts.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if opts.vae_slicing:
        pipe.vae.enable_slicing()
    if opts.vae_tiling:
        pipe.vae.enable_tiling()
    if opts.compile:
        # In place (the module keeps its type), so from_pipe and the cache see the compiled UNet.
        pipe.unet.compile(mode=opts.compile_mode, fullgraph=True)
        pipe.vae.decode = torch.compile(pipe.vae.decode, mode=opts.compile_mode, fullgraph=True)


# --------------------------------------------------------------------------- model sources
def default_cache_dir() -> Path:
    return Path(os.environ.get("STORYREEL_MODEL_CACHE", Path.home() / ".cache" / "storyreel" / "models"))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket or not prefix.strip("/"):
        raise ConfigError(f"model {uri!r}: expected s3://bucket/prefix (a folder holding model_index.json)")
    return bucket, prefix.strip("/") + "/"


def sync_s3_model(uri: str, cache_dir: Path, client: Any = None) -> Path:
    """Copy every object under the prefix into cache_dir/bucket/prefix; files already there with the same size
    are kept (a warm container syncs nothing). Returns the local directory."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = parse_s3_uri(uri)
    dest = (cache_dir / bucket / prefix).resolve()
    s3 = client or boto3.client("s3")
    fetched = kept = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = PurePosixPath(obj["Key"][len(prefix) :])
                if obj["Key"].endswith("/") or ".." in rel.parts or rel.is_absolute():
                    continue  # folder markers; never write outside the cache
                target = dest / rel
                if target.is_file() and target.stat().st_size == obj["Size"]:
                    kept += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                s3.download_file(bucket, obj["Key"], str(tmp))
                os.replace(tmp, target)
                fetched += 1
    except (ClientError, BotoCoreError) as exc:
        raise ProviderError(f"cannot sync model from {uri}: {exc}", provider="s3", retryable=True) from exc
    if fetched + kept == 0:
        raise ConfigError(f"model {uri!r}: no objects under that prefix")
    log.info("model %s: %d files fetched, %d already in %s", uri, fetched, kept, dest)
    return dest


def resolve_model(config: ImageGenerationConfig) -> tuple[str, bool]:
    """(what to pass to from_pretrained, local_files_only)."""
    model = config.model
    if not model:
        raise ConfigError(
            "image_generation.model is required for the diffusers provider: a local diffusers directory, "
            "s3://bucket/prefix, or a hub id with allow_download: true"
        )
    if model.startswith("s3://"):
        cache = Path(config.model_cache_dir).expanduser() if config.model_cache_dir else default_cache_dir()
        path = sync_s3_model(model, cache)
    else:
        path = Path(model).expanduser()
        is_path = model.startswith(("/", ".", "~")) or path.exists() or model.count("/") != 1
        if not is_path:  # "org/name": a hub id
            return model, not config.allow_download
    if not path.is_dir():
        raise ConfigError(f"model directory not found: {path}")
    if not (path / "model_index.json").is_file():
        raise ConfigError(f"{path} is not a diffusers pipeline folder (no model_index.json)")
    return str(path), True


# --------------------------------------------------------------------------- loaded pipelines (one per process)
@dataclass
class Loaded:
    txt2img: StableDiffusionXLPipeline
    img2img: StableDiffusionXLImg2ImgPipeline
    device: str
    dtype: torch.dtype
    family: str
    source: str


_CACHE: dict[tuple, Loaded] = {}
_LOCK = threading.RLock()


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _make_scheduler(name: str, base_config: Any, extra: dict[str, Any]) -> Any:
    import diffusers

    cls_name, kwargs = SCHEDULER_ALIASES.get(name.lower(), (name, {}))
    cls = getattr(diffusers, cls_name, None)
    if not isinstance(cls, type) or not issubclass(cls, diffusers.SchedulerMixin):
        known = ", ".join(sorted(SCHEDULER_ALIASES))
        raise ConfigError(
            f"unknown scheduler {name!r}: use one of {known} or a diffusers scheduler class name"
        )
    return cls.from_config(base_config, **{**extra, **kwargs})


def load_pipelines(config: ImageGenerationConfig, opts: Optimizations | None = None) -> Loaded:
    """Load (once per process) the SDXL pipeline the config names, and its img2img twin on the same weights."""
    source, local_only = resolve_model(config)
    device = pick_device(config.device)
    dtype = pick_dtype(device, config.precision)
    opts = opts or Optimizations(compile=config.compile)
    # an IP-Adapter changes the UNet's attention processors: a pipeline that may get one is never shared
    key = (source, device, str(dtype), config.model_family, config.scheduler, opts, config.ip_adapter)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

        started = time.perf_counter()
        try:
            pipe = StableDiffusionXLPipeline.from_pretrained(source, dtype=dtype, local_files_only=local_only)
        except OSError as exc:
            if local_only and source == config.model and not Path(source).is_dir():
                raise ConfigError(
                    f"model {source!r} is not on this machine and downloads are off: point "
                    "image_generation.model at a local folder or s3:// prefix, or set allow_download: true"
                ) from exc
            raise ConfigError(f"cannot load SDXL pipeline from {source}: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source} is not an SDXL pipeline: {exc}") from exc
        shipped = type(pipe.scheduler).__name__
        family = detect_family(config, shipped)
        defaults = FAMILIES[family]
        sched_name = config.scheduler or defaults.scheduler
        if sched_name is not None:
            extra = dict(defaults.scheduler_kwargs) if config.scheduler is None else {}
            pipe.scheduler = _make_scheduler(sched_name, pipe.scheduler.config, extra)
        pipe.to(device)
        optimize_pipeline(pipe, opts)
        pipe.set_progress_bar_config(disable=True)
        img2img = StableDiffusionXLImg2ImgPipeline.from_pipe(pipe)
        img2img.set_progress_bar_config(disable=True)
        loaded = Loaded(pipe, img2img, device, dtype, family, source)
        log.info(
            "loaded %s (%s family, %s, %s on %s, scheduler %s) in %.1f s",
            source,
            family,
            opts,
            str(dtype).removeprefix("torch."),
            device,
            type(pipe.scheduler).__name__,
            time.perf_counter() - started,
        )
        _CACHE[key] = loaded
        return loaded


# --------------------------------------------------------------------------- the provider
def _png(image: Image.Image, parameters: str) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", parameters)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


class DiffusersProvider:
    name = "diffusers"
    placeholder = False
    supports_init_image = True
    supports_reference = True  # through the IP-Adapter (image_generation.ip_adapter)

    def __init__(self, config: ImageGenerationConfig, opts: Optimizations | None = None) -> None:
        if not config.model:
            resolve_model(config)  # raises the one-line ConfigError
        self.config = config
        self.model = config.model
        self.opts = opts
        self.max_batch = config.max_batch  # halved for the rest of the process on out-of-memory
        self.calls: list[tuple[str, int]] = []  # ("txt2img" | "img2img", batch size), for logs and tests
        self._loaded: Loaded | None = None
        self._ip_adapter = False  # loaded into the pipelines (on the first frame with a reference)
        if config.subject_reference != "off" and not config.ip_adapter:
            raise ConfigError(
                "image_generation.subject_reference needs image_generation.ip_adapter for diffusers: the "
                "IP-Adapter that carries the reference (e.g. h94/IP-Adapter, or a local folder of it)"
            )

    # ---- what each call uses
    def pipelines(self) -> Loaded:
        """Resolved (an s3:// model synced) and loaded once per provider, not on every render() call."""
        if self._loaded is None:
            self._loaded = load_pipelines(self.config, self.opts)
        return self._loaded

    def load_ip_adapter(self, loaded: Loaded) -> None:
        """The IP-Adapter (image_generation.ip_adapter) into both pipelines, once: its image projection and
        IPAdapterAttnProcessor cross-attention in the shared UNet, its CLIP image encoder registered on both."""
        if self._ip_adapter:
            return
        cfg = self.config
        source = cfg.ip_adapter
        assert source is not None  # checked in __init__
        local = Path(source).is_dir()
        try:
            loaded.txt2img.load_ip_adapter(  # type: ignore[attr-defined]
                source,
                subfolder=cfg.ip_adapter_subfolder,
                weight_name=cfg.ip_adapter_weight,
                local_files_only=local or not cfg.allow_download,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"image_generation.ip_adapter {source!r} cannot be loaded: {exc}") from None
        pipe: Any = loaded.txt2img
        loaded.img2img.register_modules(  # type: ignore[attr-defined]
            image_encoder=pipe.image_encoder, feature_extractor=pipe.feature_extractor
        )
        pipe.to(loaded.device)
        self._ip_adapter = True
        log.info("IP-Adapter %s/%s loaded (scale %s)", source, cfg.ip_adapter_weight, cfg.ip_adapter_scale)

    def steps(self, loaded: Loaded) -> int:
        return self.config.steps or FAMILIES[loaded.family].steps

    def guidance(self, loaded: Loaded) -> float:
        if self.config.guidance_scale is not None:
            return self.config.guidance_scale
        # diffusers registers a pipeline's components at runtime (register_modules): the class declares no unet
        unet = loaded.txt2img.unet  # type: ignore[attr-defined]
        if loaded.family == "lcm" and unet.config.get("time_cond_proj_dim") is not None:
            return 8.0  # a distilled LCM UNet takes its guidance as an embedding (no CFG pass)
        return FAMILIES[loaded.family].guidance

    # ---- ImageProvider
    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        if not requests:
            return []
        loaded = self.pipelines()
        results: dict[int, ImageResult] = {}
        groups: dict[tuple, list[int]] = {}
        if any(r.reference_image is not None for r in requests):
            self.load_ip_adapter(loaded)
        for i, req in enumerate(requests):
            init = req.init_image is not None
            key = (
                req.width,
                req.height,
                init,
                req.strength if init else None,
                bool(req.negative_prompt),
                req.reference_image,  # one reference per call (ip_adapter_image applies to the whole batch)
            )
            groups.setdefault(key, []).append(i)
        for idxs in groups.values():
            for i, res in zip(idxs, self._render_group(loaded, [requests[i] for i in idxs]), strict=True):
                results[i] = res
        return [results[i] for i in range(len(requests))]

    def _render_group(self, loaded: Loaded, reqs: list[ImageRequest]) -> list[ImageResult]:
        import torch

        out: list[ImageResult] = []
        pending = list(reqs)
        while pending:
            chunk = pending[: self.max_batch]
            try:
                out.extend(self._call(loaded, chunk))
            except torch.OutOfMemoryError as exc:
                self._free(loaded)
                if len(chunk) > 1:
                    self.max_batch = max(1, len(chunk) // 2)
                    log.warning("out of memory at batch %d: retrying at %d", len(chunk), self.max_batch)
                    continue
                reason = str(exc).splitlines()[0] if str(exc) else "out of memory"
                out.extend(self._failed(chunk, f"out of memory at batch 1: {reason}"))
            except (RuntimeError, ValueError, TypeError, OSError) as exc:
                log.exception("pipeline call failed for %s", [r.frame_id for r in chunk])
                out.extend(self._failed(chunk, f"{type(exc).__name__}: {exc}"))
            pending = pending[len(chunk) :]
        return out

    def _failed(self, chunk: list[ImageRequest], error: str) -> list[ImageResult]:
        return [ImageResult(r.frame_id, None, 0.0, r.seed, model=self.model, error=error) for r in chunk]

    @staticmethod
    def _free(loaded: Loaded) -> None:
        import gc

        import torch

        gc.collect()
        if loaded.device == "cuda":
            torch.cuda.empty_cache()

    def _call(self, loaded: Loaded, chunk: list[ImageRequest]) -> list[ImageResult]:
        import torch
        from PIL import Image

        first = chunk[0]
        steps = self.steps(loaded)
        guidance = self.guidance(loaded)
        # CPU generators: a frame's starting noise is the same on every device and in every batch.
        generators = [torch.Generator(device="cpu").manual_seed(r.seed) for r in chunk]
        kwargs: dict[str, Any] = {
            "prompt": [r.prompt for r in chunk],
            "negative_prompt": [r.negative_prompt for r in chunk] if first.negative_prompt else None,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "generator": generators,
            "output_type": "pil",
            **self.config.params,
        }
        if self._ip_adapter:
            # Every call of a pipeline with an IP-Adapter needs an image for it; a frame without a reference
            # (the first keyframe, itself the reference) gets a blank one at scale 0: no conditioning at all.
            ref = first.reference_image
            scale = self.config.ip_adapter_scale if ref is not None else 0.0
            loaded.txt2img.set_ip_adapter_scale(scale)  # type: ignore[attr-defined]
            kwargs["ip_adapter_image"] = (
                Image.open(io.BytesIO(ref)).convert("RGB")
                if ref is not None
                else Image.new("RGB", (first.width, first.height))
            )
        if first.init_image is not None:
            pipe: Any = loaded.img2img
            kind = "img2img"
            # img2img runs int(steps * strength) steps: keep at least one.
            kwargs["num_inference_steps"] = max(steps, math.ceil(1 / first.strength))
            kwargs["strength"] = first.strength
            init_images = []
            for r in chunk:
                if r.init_image is None:  # render() groups requests by init_image: a batch is all img2img
                    raise ValueError(f"{r.frame_id}: no init image in an img2img batch")
                init_images.append(
                    Image.open(io.BytesIO(r.init_image)).convert("RGB").resize((r.width, r.height))
                )
            kwargs["image"] = init_images
        else:
            pipe = loaded.txt2img
            kind = "txt2img"
            kwargs["width"], kwargs["height"] = first.width, first.height
        self.calls.append((kind, len(chunk)))
        started = time.perf_counter()
        with _LOCK:
            images = pipe(**kwargs).images
        per_frame = (time.perf_counter() - started) / len(chunk)
        results = []
        for req, image in zip(chunk, images, strict=True):
            params = (
                f"{req.prompt}\nNegative prompt: {req.negative_prompt}\nSteps: {kwargs['num_inference_steps']}, "
                f"Sampler: {type(pipe.scheduler).__name__}, CFG scale: {guidance}, Seed: {req.seed}, "
                f"Size: {req.width}x{req.height}, Model: {self.model}"
                + (f", Denoising strength: {req.strength}" if kind == "img2img" else "")
            )
            results.append(
                ImageResult(req.frame_id, _png(image, params), per_frame, req.seed, model=self.model)
            )
        return results
