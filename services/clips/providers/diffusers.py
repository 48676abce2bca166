"""Wan 2.1 first/last-frame-to-video (FLF2V) with diffusers: `WanImageToVideoPipeline(image=start,
last_image=end)` on a local GPU (or CPU, slowly), one clip per call, exported to MP4 with
imageio-ffmpeg's writer.

The model is a local diffusers folder (e.g. a download of Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers); a hub id is
loaded only from the local Hugging Face cache unless `clips.allow_download` is on. One pipeline per process.
Each clip gets a CPU generator seeded with the request's seed. Sizes are rounded down to what the VAE and the
patching take (multiples of 16), frames to 4k+1.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from storyreel.services.clips.providers.base import ClipRequest, ClipResult
from storyreel.shared.contracts import Usage
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ClipsConfig

_PIPES: dict[tuple[str, str, str], Any] = {}
_LOCK = threading.Lock()


def frames_for(frames: int) -> int:
    """Wan's VAE compresses time 4x: a clip has 4k+1 frames."""
    return max(5, (frames - 1) // 4 * 4 + 1)


def _device(choice: str) -> str:
    import torch

    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_pipeline(model: str, device: str, precision: str, allow_download: bool) -> Any:
    import torch
    from diffusers import WanImageToVideoPipeline

    key = (model, device, precision)
    with _LOCK:
        if key in _PIPES:
            return _PIPES[key]
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]
        if device == "cpu":
            dtype = torch.float32
        local = Path(model).is_dir()
        if not local and not allow_download and not _in_hub_cache(model):
            raise ConfigError(
                f"clips.model {model!r} is not a local folder nor in the Hugging Face cache: point clips.model at "
                "a Wan FLF2V diffusers folder, or set clips.allow_download: true"
            )
        try:
            pipe = WanImageToVideoPipeline.from_pretrained(
                model, dtype=dtype, local_files_only=local or not allow_download
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"clips.model {model!r} cannot be loaded as a Wan pipeline: {exc}") from None
        pipe.to(device)
        _PIPES[key] = pipe
        return pipe


def _in_hub_cache(model: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(model, "model_index.json")
    except ValueError:  # not a hub id at all (a path that does not exist)
        return False
    return isinstance(found, str)


class WanClips:
    name = "diffusers"

    def __init__(self, config: ClipsConfig) -> None:
        if not config.model:
            raise ConfigError("clips.model is required for diffusers: a Wan 2.1 FLF2V diffusers folder")
        self.config = config
        self.model: str | None = config.model
        self.usage: list[Usage] = []

    def check(self, requests: list[ClipRequest]) -> None:
        if self.config.resolution is not None:
            raise ConfigError(
                "clips.resolution is for the API models; diffusers clips take clips.width and clips.height"
            )

    def _pipe(self) -> Any:
        assert self.model is not None  # checked in __init__
        return load_pipeline(
            self.model, _device(self.config.device), self.config.precision, self.config.allow_download
        )

    def generate(self, requests: list[ClipRequest]) -> list[ClipResult]:
        self.check(requests)
        if not requests:
            return []
        pipe = self._pipe()
        out = []
        for req in requests:
            out.append(self._one(pipe, req))
        self.usage.append(
            Usage(provider=self.name, model=self.model or "", stage="clips", requests=len(requests))
        )
        return out

    def _one(self, pipe: Any, req: ClipRequest) -> ClipResult:
        import torch
        from PIL import Image

        cfg = self.config
        width, height = cfg.width // 16 * 16, cfg.height // 16 * 16
        frames = frames_for(cfg.frames)
        seconds = round(frames / cfg.fps, 3)
        t0 = time.monotonic()
        start = Image.open(io.BytesIO(req.start_png)).convert("RGB").resize((width, height))
        end = Image.open(io.BytesIO(req.end_png)).convert("RGB").resize((width, height))
        try:
            result = pipe(
                image=start,
                last_image=end,
                prompt=req.prompt,
                negative_prompt=req.negative_prompt or None,
                height=height,
                width=width,
                num_frames=frames,
                num_inference_steps=cfg.steps,
                guidance_scale=cfg.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(req.seed),
                output_type="np",
            )
            mp4 = to_mp4(result.frames[0], cfg.fps)
        except torch.cuda.OutOfMemoryError:
            return ClipResult(
                req.scene_index,
                None,
                seconds,
                f"{width}x{height}",
                time.monotonic() - t0,
                model=self.model,
                error=f"out of GPU memory at {width}x{height}, {frames} frames: lower clips.width/height/frames",
            )
        return ClipResult(
            req.scene_index, mp4, seconds, f"{width}x{height}", time.monotonic() - t0, model=self.model
        )


def to_mp4(frames: Any, fps: int) -> bytes:
    """Frames (a float array, T x H x W x 3 in 0..1) as H.264 MP4 bytes, through imageio-ffmpeg's writer (the
    ffmpeg binary the core install already has)."""
    import imageio_ffmpeg
    import numpy as np

    video = (np.clip(np.asarray(frames), 0.0, 1.0) * 255).round().astype(np.uint8)
    height, width = video.shape[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=2,
            output_params=["-movflags", "+faststart"],
        )  # fmt: skip
        writer.send(None)  # start ffmpeg
        for frame in video:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        return path.read_bytes()
