"""bench/gpu_sdxl.py: its SDXL architecture is the published one, it refuses full size without CUDA, and a
tiny run is labelled as a smoke run, never as a measurement. (The benchmark itself is not run here.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpu_sdxl_bench", REPO / "bench" / "gpu_sdxl.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_full_size_configs_are_sdxl_1_0(bench) -> None:
    counts = bench.parameter_counts(bench.SDXL_UNET, bench.SDXL_VAE, bench.SDXL_TEXT, bench.SDXL_TEXT_2)
    assert counts == bench.PUBLISHED_PARAMETERS  # 2.57 B UNet, 84 M VAE, 123 M + 695 M text encoders


def test_refuses_full_size_without_cuda(bench, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert bench.main([]) == 2
    assert "--tiny" in capsys.readouterr().err


def test_tiny_results_say_they_are_not_a_measurement(bench) -> None:
    rows = [bench.Row("sdpa", "+ SDPA attention", 4, 10, 64, 0.0, "ok", 0.1, 10.0, 1.0, None, 0.2)]
    env = {"device": "cpu", "gpu": "none"}
    tiny = bench.render_markdown(rows, env, tiny=True, command="python bench/gpu_sdxl.py --tiny")
    assert "CPU SMOKE RUN — NOT A GPU MEASUREMENT" in tiny
    assert "not evaluated (CPU smoke run)" in tiny
    real = bench.render_markdown(rows, {"device": "cuda", "gpu": "NVIDIA H100"}, tiny=False, command="x")
    assert "SMOKE" not in real
    assert "best 1 s -> met" in real  # ten 4-step frames in 1 s against the 3 s goal
    assert "0.43x of 0.234 s" in real
