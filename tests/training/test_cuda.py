"""The trainer's GPU paths: float16 with a gradient scaler, bfloat16, compile, the command line.

These need a CUDA device and are skipped, with that reason, on a machine without one (CI's);
tests/training/test_precision.py covers what a CPU can run (bfloat16, the refusals, underflow).
"""
import subprocess
import sys

import pytest
import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import train_step
from tests.training.test_precision import TEXT, losses

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU: float16 training and its scaler run only there")


def test_float16_with_a_scaler_tracks_float32_on_cuda():
    """float16 keeps 11 significant bits (bfloat16 8): its curve sits closer to float32's, as
    long as the scaler keeps the small gradients from flushing to zero."""
    fp32, _ = losses("float32", "cuda")
    fp16, model16 = losses("float16", "cuda")
    assert fp32[0] - fp32[-1] > 1.0
    assert max(abs(a - b) for a, b in zip(fp32, fp16, strict=True)) < 0.01
    assert fp32 != fp16  # autocast did change the arithmetic
    assert all(p.dtype == torch.float32 for p in model16.parameters())  # master weights


def test_bfloat16_tracks_float32_on_cuda():
    fp32, _ = losses("float32", "cuda")
    bf16, _ = losses("bfloat16", "cuda")
    assert max(abs(a - b) for a, b in zip(fp32, bf16, strict=True)) < 0.02


def test_an_overflowing_float16_step_is_skipped_and_the_scale_lowered_not_called_divergence():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, context_length=8, n_layers=1, n_heads=2, d_model=16)).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 60)  # scaled gradients overflow float16
    x = torch.randint(0, 16, (4, 8), device="cuda")
    loss, _ = train_step(model, optimizer, x, x, lr=1e-2, grad_clip=1.0, dtype=torch.float16,
                         scaler=scaler)
    assert loss == loss and loss < 10  # the loss itself is finite
    assert scaler.get_scale() < 2.0 ** 60  # the scaler backed off ...
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # ... and skipped the step
    train_step(model, optimizer, x, x, lr=1e-2, grad_clip=1.0, dtype=torch.float16, scaler=scaler)
    while not any(not torch.equal(a, b) for a, b in zip(before, model.parameters())):
        assert scaler.get_scale() > 1.0, "the scaler never found a scale at which to step"
        train_step(model, optimizer, x, x, lr=1e-2, grad_clip=1.0, dtype=torch.float16, scaler=scaler)


def test_compile_gives_the_eager_loss_on_cuda():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, context_length=8, n_layers=2, n_heads=2, d_model=32)).cuda()
    x = torch.randint(0, 16, (4, 8), device="cuda")
    _, eager = model(x, x)
    _, compiled = torch.compile(model)(x, x)
    assert compiled.item() == pytest.approx(eager.item(), abs=1e-5)


def test_the_command_line_trains_in_float16_and_generates_on_cuda(tmp_path):
    data = tmp_path / "speech.txt"
    data.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "ckpt.pt"
    run = [sys.executable, "-m", "snippets"]
    trained = subprocess.run(run + ["train", "--data", str(data), "--device", "cuda", "--dtype", "float16",
                                    "--steps", "30", "--out", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    generated = subprocess.run(run + ["generate", "--checkpoint", str(out), "--device", "cuda",
                                      "--max-new-tokens", "40", "--prompt", "First"],
                               capture_output=True, text=True, timeout=600)
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert generated.stdout.startswith("First") and len(generated.stdout) >= 40
