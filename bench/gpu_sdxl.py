"""SDXL keyframe speed on one GPU: the full SDXL architecture with random weights (the compute is the same as
with the real weights; no download), 1024x1024 at 30 steps and at 4 steps, batch 1 and 10.

For each row: seconds per image, images per second, the batch's total seconds and peak GPU memory; the table is
repeated with each optimization switched on in turn, cumulatively (fp32 baseline -> fp16 -> SDPA attention ->
channels_last -> VAE slicing+tiling -> torch.compile), the last row set being what the diffusers provider runs.
The published anchors are printed beside it.

    python bench/gpu_sdxl.py                       # on a CUDA GPU: writes bench/results/gpu_sdxl.{md,json}
    python bench/gpu_sdxl.py --variants fp16,sdpa  # some variants only; rows merge into the results file
    python bench/gpu_sdxl.py --tiny                # CI smoke: tiny SDXL-shaped model, 64x64 (CPU is fine)

Without CUDA, full size is refused unless --allow-cpu. A --tiny run is a smoke test of this script, never a
measurement, and is written to bench/results/gpu_sdxl_smoke.{md,json}, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.services.images.providers.diffusers import Optimizations, optimize_pipeline  # noqa: E402

# --------------------------------------------------------------------------- architectures
# SDXL 1.0 base, as published in stabilityai/stable-diffusion-xl-base-1.0 (unet/, vae/, text_encoder/,
# text_encoder_2/ config.json). Parameter counts are checked against the published model before timing.
SDXL_UNET: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "act_fn": "silu",
    "block_out_channels": [320, 640, 1280],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "layers_per_block": 2,
    "transformer_layers_per_block": [1, 2, 10],
    "attention_head_dim": [5, 10, 20],
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
    "center_input_sample": False,
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-5,
    "norm_num_groups": 32,
}
SDXL_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}
SDXL_TEXT: dict[str, Any] = {  # CLIP ViT-L/14 text tower
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
}
SDXL_TEXT_2: dict[str, Any] = {  # OpenCLIP ViT-bigG/14 text tower, with its projection
    "vocab_size": 49408,
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "projection_dim": 1280,
}
PUBLISHED_PARAMETERS = {
    "unet": 2_567_463_684,
    "vae": 83_653_863,
    "text_encoder": 123_060_480,
    "text_encoder_2": 694_659_840,
}

# The same shapes at toy size (as tests/images/gpu builds), for --tiny.
TINY_UNET: dict[str, Any] = {
    **{
        k: SDXL_UNET[k]
        for k in ("in_channels", "out_channels", "addition_embed_type", "use_linear_projection")
    },
    "sample_size": 32,
    "block_out_channels": [32, 64],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "layers_per_block": 1,
    "transformer_layers_per_block": [1, 1],
    "attention_head_dim": [2, 4],
    "cross_attention_dim": 64,
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 6 * 8 + 32,
    "norm_num_groups": 1,
}
TINY_VAE: dict[str, Any] = {
    **{k: SDXL_VAE[k] for k in ("in_channels", "out_channels", "latent_channels")},
    "block_out_channels": [32, 64],
    "down_block_types": ["DownEncoderBlock2D"] * 2,
    "up_block_types": ["UpDecoderBlock2D"] * 2,
    "norm_num_groups": 1,
    "sample_size": 64,
    "force_upcast": False,
}
TINY_TEXT: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "projection_dim": 32,
}

# --------------------------------------------------------------------------- what is compared
# Published figures as issue #5 quotes them (not measured here; the issue names no GPU for the LCM figure).
ANCHORS = {
    30: ("H100, TensorRT, SDXL 30 steps", 1.47),
    4: ("SDXL LCM, 4 steps", 0.234),
}
GOALS = (
    "ten 1024² keyframes with a 4-step model in ≤ 3 s total (batch 10, 4 steps)",
    "30-step SDXL ≤ 2.0 s per image with diffusers alone",
)


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    precision: str
    opts: Optimizations


OFF = Optimizations(sdpa=False, channels_last=False, vae_slicing=False, vae_tiling=False, compile=False)
VARIANTS = [
    Variant("baseline", "fp32, classic attention", "fp32", OFF),
    Variant("fp16", "+ fp16", "fp16", OFF),
    Variant("sdpa", "+ SDPA attention", "fp16", replace(OFF, sdpa=True)),
    Variant("channels_last", "+ channels_last", "fp16", replace(OFF, sdpa=True, channels_last=True)),
    Variant(
        "vae",
        "+ VAE slicing/tiling",
        "fp16",
        replace(OFF, sdpa=True, channels_last=True, vae_slicing=True, vae_tiling=True),
    ),
    Variant("compile", "+ torch.compile (UNet, VAE decode)", "fp16", Optimizations(compile=True)),
]


@dataclass
class Row:
    variant: str
    label: str
    steps: int
    batch: int
    size: int
    guidance: float
    status: str  # "ok", "out of memory", "skipped: ...", "error: ..."
    seconds_per_image: float | None = None
    images_per_second: float | None = None
    batch_seconds: float | None = None
    peak_gpu_gib: float | None = None
    warmup_seconds: float | None = None


# --------------------------------------------------------------------------- building the random model
def _tokenizer(folder: Path) -> Any:
    """A letters-only CLIP byte-pair tokenizer: prompts are padded to 77 tokens like the real one, so the
    text encoders do the same work."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in "abcdefghijklmnopqrstuvwxyz":
            vocab[c + suffix] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(
        vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=77
    )


def parameter_counts(unet: dict, vae: dict, text: dict, text_2: dict) -> dict[str, int]:
    """Build the modules on the meta device (no memory) and count their parameters."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    ids = {"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1}
    with torch.device("meta"):
        modules = {
            "unet": UNet2DConditionModel(**unet),
            "vae": AutoencoderKL(**vae),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**text, **ids)),
            "text_encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**text_2, **ids)),
        }
    return {name: sum(p.numel() for p in m.parameters()) for name, m in modules.items()}


def build_pipeline(tiny: bool, device: str, workdir: Path) -> Any:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    unet_cfg, vae_cfg = (TINY_UNET, TINY_VAE) if tiny else (SDXL_UNET, SDXL_VAE)
    text_cfg, text_2_cfg = (TINY_TEXT, TINY_TEXT) if tiny else (SDXL_TEXT, SDXL_TEXT_2)
    ids = {"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1}
    tokenizer = _tokenizer(workdir)
    torch.manual_seed(0)
    with torch.device(device):  # random init where it runs: seconds on a GPU for 3.5 B parameters
        pipe = StableDiffusionXLPipeline(
            vae=AutoencoderKL(**vae_cfg),
            text_encoder=CLIPTextModel(CLIPTextConfig(**text_cfg, **ids)),
            text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**text_2_cfg, **ids)),
            tokenizer=tokenizer,
            tokenizer_2=tokenizer,
            unet=UNet2DConditionModel(**unet_cfg),
            scheduler=EulerDiscreteScheduler(
                beta_start=0.00085,
                beta_end=0.012,
                beta_schedule="scaled_linear",
                steps_offset=1,
                timestep_spacing="leading",
            ),
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe


# --------------------------------------------------------------------------- timing
def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _schedulers(pipe: Any) -> dict[int, Any]:
    """30 steps: SDXL base's Euler with CFG 5; 4 steps: the few-step recipe (Euler, trailing, no CFG) that
    SDXL-Lightning and Turbo use, as the diffusers provider configures them."""
    from diffusers import EulerDiscreteScheduler

    base = pipe.scheduler
    return {30: base, 4: EulerDiscreteScheduler.from_config(base.config, timestep_spacing="trailing")}


def measure(pipe: Any, device: str, variant: Variant, steps: int, batch: int, size: int, repeat: int) -> Row:
    import torch

    guidance = 5.0 if steps >= 10 else 0.0
    row = Row(variant.key, variant.label, steps, batch, size, guidance, status="ok")
    schedulers = _schedulers(pipe)
    pipe.scheduler = schedulers.get(steps, schedulers[30])

    def call(n_steps: int) -> float:
        generators = [torch.Generator("cpu").manual_seed(i) for i in range(batch)]
        _sync(device)
        started = time.perf_counter()
        pipe(
            prompt=["a storyboard keyframe of a red kite over the sea at dawn"] * batch,
            height=size,
            width=size,
            num_inference_steps=n_steps,
            guidance_scale=guidance,
            generator=generators,
            output_type="pil",
        )
        _sync(device)
        return time.perf_counter() - started

    try:
        # Warm-up at the same shapes (includes torch.compile's compilation for that variant).
        row.warmup_seconds = round(call(2), 3)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times = [call(steps) for _ in range(repeat)]
    except torch.OutOfMemoryError:
        row.status = "out of memory"
        return row
    except (RuntimeError, ValueError, TypeError) as exc:
        row.status = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        return row
    finally:
        pipe.scheduler = schedulers[30]
        if device == "cuda":
            torch.cuda.empty_cache()
    total = statistics.median(times)
    row.batch_seconds = round(total, 3)
    row.seconds_per_image = round(total / batch, 3)
    row.images_per_second = round(batch / total, 3)
    if device == "cuda":
        row.peak_gpu_gib = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return row


def apply_variant(pipe: Any, variant: Variant, device: str) -> None:
    """Put the pipeline in the variant's state: dtype, attention processor, memory format, VAE, compile."""
    import torch

    dtype = torch.float32 if variant.precision == "fp32" else torch.float16
    pipe.to(dtype=dtype)
    pipe.unet.to(memory_format=torch.contiguous_format)
    pipe.vae.to(memory_format=torch.contiguous_format)
    pipe.vae.disable_slicing()
    pipe.vae.disable_tiling()
    optimize_pipeline(pipe, variant.opts)


# --------------------------------------------------------------------------- report
def environment(device: str) -> dict[str, str]:
    import diffusers
    import torch

    env = {
        "device": device,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = torch.cuda.get_device_name(0)
        env["gpu_memory_gib"] = f"{props.total_memory / 2**30:.0f}"
        env["cuda"] = str(torch.version.cuda)
    else:
        env["gpu"] = "none"
        env["cpu"] = platform.processor() or platform.machine()
    return env


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:g}{unit}"


def render_markdown(rows: list[Row], env: dict[str, str], tiny: bool, command: str) -> str:
    lines = ["# SDXL keyframes on one GPU (bench/gpu_sdxl.py)", ""]
    if tiny:
        lines += [
            "> **CPU SMOKE RUN — NOT A GPU MEASUREMENT.** A tiny SDXL-shaped model (random weights, "
            f"{rows[0].size if rows else 64}x{rows[0].size if rows else 64} pixels) run to check that the benchmark "
            "works end to end. The numbers below say nothing about SDXL speed. GPU numbers are pending a "
            "GPU session: `make bench-gpu` writes bench/results/gpu_sdxl.md.",
            "",
        ]
    lines += [
        f"- when: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        "- " + ", ".join(f"{k}: {v}" for k, v in env.items()),
        "- model: "
        + (
            "tiny SDXL-shaped (same block types, toy widths)"
            if tiny
            else "SDXL 1.0 base architecture at full size, random weights (parameter counts checked "
            "against the published model)"
        ),
        "- 30-step rows: Euler, CFG 5 (two UNet passes per step); 4-step rows: Euler trailing, no CFG "
        "(the SDXL-Lightning/Turbo recipe). Times are the median of the timed runs after one warm-up "
        "at the same shapes; the batch's time includes text encoding, VAE decode and PIL conversion.",
        "- variants are cumulative: each row set adds one switch to the one above it.",
        "",
        "| variant | steps | batch | s/image | images/s | batch s | peak GPU GiB | warm-up s | vs anchor | status |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        anchor = ANCHORS.get(r.steps)
        versus = "—"
        if anchor and r.seconds_per_image is not None and not tiny:
            versus = f"{r.seconds_per_image / anchor[1]:.2f}x of {anchor[1]} s"
        lines.append(
            f"| {r.label} | {r.steps} | {r.batch} | {_fmt(r.seconds_per_image)} | {_fmt(r.images_per_second)} "
            f"| {_fmt(r.batch_seconds)} | {_fmt(r.peak_gpu_gib)} | {_fmt(r.warmup_seconds)} | {versus} | {r.status} |"
        )
    lines += ["", "Anchors (published, per image):", ""]
    lines += [f"- {name}: {sec} s ({steps} steps)" for steps, (name, sec) in ANCHORS.items()]
    lines += ["", "Goals on one H100:", ""]
    lines += goal_lines(rows, tiny)
    return "\n".join(lines) + "\n"


def goal_lines(rows: list[Row], tiny: bool) -> list[str]:
    if tiny:
        return [f"- {g}: not evaluated (CPU smoke run)" for g in GOALS]
    ok = [r for r in rows if r.status == "ok"]
    four = [r.batch_seconds for r in ok if r.steps == 4 and r.batch == 10 and r.batch_seconds is not None]
    thirty = [r.seconds_per_image for r in ok if r.steps == 30 and r.seconds_per_image is not None]
    out = []
    for goal, measured, limit in ((GOALS[0], four, 3.0), (GOALS[1], thirty, 2.0)):
        if not measured:
            out.append(f"- {goal}: not measured in this run")
        else:
            best = min(measured)
            out.append(f"- {goal}: best {best:g} s -> {'met' if best <= limit else 'NOT met'}")
    return out


def merge_rows(path: Path, env: dict[str, str], rows: list[Row]) -> list[Row]:
    """Rows from an earlier run on the same GPU stay unless this run measured the same (variant, steps, batch)."""
    if not path.is_file():
        return rows
    old = json.loads(path.read_text())
    if old.get("environment", {}).get("gpu") != env.get("gpu"):
        return rows
    fresh = {(r.variant, r.steps, r.batch) for r in rows}
    kept = [Row(**r) for r in old.get("rows", []) if (r["variant"], r["steps"], r["batch"]) not in fresh]
    order = {v.key: i for i, v in enumerate(VARIANTS)}
    return sorted(kept + rows, key=lambda r: (order.get(r.variant, 99), -r.steps, r.batch))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny SDXL-shaped model at 64x64: a smoke test")
    p.add_argument("--allow-cpu", action="store_true", help="run full size without CUDA (hours)")
    p.add_argument("--quick", action="store_true", help="4 steps, batch 1 and 2 only (CI)")
    p.add_argument("--variants", default=",".join(v.key for v in VARIANTS), help="comma list of variant keys")
    p.add_argument("--steps", default="30,4")
    p.add_argument("--batches", default="1,10")
    p.add_argument("--size", type=int, default=None, help="pixels (default 1024; 64 with --tiny)")
    p.add_argument("--repeat", type=int, default=None, help="timed runs per row (default 2; 1 with --tiny)")
    p.add_argument("--compile-mode", default="default", help="torch.compile mode for the compile variant")
    p.add_argument("--compile-on-cpu", action="store_true", help="do not skip torch.compile without CUDA")
    p.add_argument("--out", type=Path, default=None, help="markdown path (a .json is written beside it)")
    args = p.parse_args(argv)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" and not args.tiny and not args.allow_cpu:
        print(
            "no CUDA GPU here: full-size SDXL would take hours. Use --tiny for a smoke run, or --allow-cpu.",
            file=sys.stderr,
        )
        return 2
    wanted = [k.strip() for k in args.variants.split(",") if k.strip()]
    unknown = sorted(set(wanted) - {v.key for v in VARIANTS})
    if unknown:
        print(f"unknown variant(s) {unknown}; choose from {[v.key for v in VARIANTS]}", file=sys.stderr)
        return 2
    variants = [v for v in VARIANTS if v.key in wanted]
    steps = [4] if args.quick else [int(s) for s in args.steps.split(",")]
    batches = [1, 2] if args.quick else [int(b) for b in args.batches.split(",")]
    size = args.size or (64 if args.tiny else 1024)
    repeat = args.repeat or (1 if args.tiny else 2)
    out = args.out or ROOT / "bench" / "results" / ("gpu_sdxl_smoke.md" if args.tiny else "gpu_sdxl.md")
    command = "python bench/gpu_sdxl.py " + " ".join(argv if argv is not None else sys.argv[1:])

    if not args.tiny:
        counts = parameter_counts(SDXL_UNET, SDXL_VAE, SDXL_TEXT, SDXL_TEXT_2)
        if counts != PUBLISHED_PARAMETERS:
            print(f"architecture differs from SDXL 1.0: {counts} != {PUBLISHED_PARAMETERS}", file=sys.stderr)
            return 1
        print("SDXL architecture: " + ", ".join(f"{k} {v / 1e6:,.1f} M" for k, v in counts.items()))

    env = environment(device)
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    if args.tiny:
        print(
            "CPU SMOKE RUN — NOT A GPU MEASUREMENT" if device != "cuda" else "tiny model: not a measurement"
        )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # random weights in fp16 decode to NaN pixels; the PIL cast warns about it, the timing is the same
        warnings.simplefilter("ignore", RuntimeWarning)
        pipe = build_pipeline(args.tiny, device, Path(tmp))
        for variant in variants:
            if variant.opts.compile and device != "cuda" and not args.compile_on_cpu:
                rows += [
                    Row(variant.key, variant.label, s, b, size, 0.0, "skipped: no CUDA (--compile-on-cpu)")
                    for s in steps
                    for b in batches
                ]
                continue
            opts = (
                replace(variant.opts, compile_mode=args.compile_mode)
                if variant.opts.compile
                else variant.opts
            )
            variant = replace(variant, opts=opts)
            if device != "cuda" and variant.precision != "fp32":
                # like the provider: half precision only on a GPU (on CPU it is slower, not faster)
                variant = replace(variant, precision="fp32", label=f"{variant.label} [fp32: no CUDA]")
            try:
                apply_variant(pipe, variant, device)
            except (RuntimeError, TypeError, ValueError) as exc:
                rows += [
                    Row(variant.key, variant.label, s, b, size, 0.0, f"error: {exc}")
                    for s in steps
                    for b in batches
                ]
                continue
            for s in steps:
                for b in batches:
                    row = measure(pipe, device, variant, s, b, size, repeat)
                    rows.append(row)
                    print(
                        f"{variant.label:<36} steps={s:<3} batch={b:<3} s/image={_fmt(row.seconds_per_image):<8} "
                        f"images/s={_fmt(row.images_per_second):<8} peak={_fmt(row.peak_gpu_gib, ' GiB'):<10} "
                        f"{row.status}",
                        flush=True,
                    )
                    write_results(
                        out, env, merge_rows(out.with_suffix(".json"), env, rows), args.tiny, command
                    )
    final = merge_rows(out.with_suffix(".json"), env, rows)
    write_results(out, env, final, args.tiny, command)
    print()
    print(render_markdown(final, env, args.tiny, command))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def write_results(out: Path, env: dict[str, str], rows: list[Row], tiny: bool, command: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(rows, env, tiny, command), encoding="utf-8")
    body = {
        "benchmark": "gpu_sdxl",
        "smoke_run_not_a_measurement": tiny,
        "environment": env,
        "anchors": {str(k): {"name": n, "seconds_per_image": s} for k, (n, s) in ANCHORS.items()},
        "rows": [asdict(r) for r in rows],
    }
    out.with_suffix(".json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
