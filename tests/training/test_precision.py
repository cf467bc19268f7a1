"""Mixed precision: bfloat16 autocast tracks float32; float16 needs CUDA and a scaler."""
import pytest
import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train
from snippets.training.precision import check_precision, flushed_to_zero, make_scaler
from snippets.training.text_data import train_val_split

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 30


def losses(dtype: str, device: str = "cpu", steps: int = 40) -> tuple[list[float], GPT]:
    tok = CharTokenizer.train(TEXT)
    train_data, val_data = train_val_split(torch.tensor(tok.encode(TEXT)), 0.1)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=32, n_layers=2, n_heads=2,
                          d_model=32, bias=False)).to(device)
    config = TrainConfig(batch_size=8, max_steps=steps, lr=3e-3, warmup_steps=4,
                         eval_interval=steps, eval_iters=2, dtype=dtype)
    out: list[float] = []
    train(model, make_optimizer(model, config), train_data, val_data, config,
          TrainState(batch_rng=torch.Generator().manual_seed(0)),
          on_step=lambda step, loss, lr: out.append(loss))
    return out, model


def test_bfloat16_training_tracks_float32_within_a_hundredth_of_a_nat():
    """bfloat16 rounds each product's inputs to 8 significant bits (about 0.4% error), but the
    weights, the gradients' accumulation and the optimiser stay float32; over 40 steps the two
    loss curves differ by about 2e-4 nats here. 0.01 leaves room for other kernels and is still
    far below the 1.2 nats the run descends."""
    fp32, model32 = losses("float32")
    bf16, model16 = losses("bfloat16")
    assert fp32[0] - fp32[-1] > 1.0
    assert max(abs(a - b) for a, b in zip(fp32, bf16, strict=True)) < 0.01
    assert fp32 != bf16  # autocast did change the arithmetic
    assert all(p.dtype == torch.float32 for p in model16.parameters())  # master weights


def test_float16_on_a_cpu_and_unknown_dtypes_are_refused_by_name():
    assert check_precision("bfloat16", "cpu") == torch.bfloat16
    assert check_precision("float32", "cpu") == torch.float32
    with pytest.raises(ValueError, match="float16 needs a CUDA device .* not 'cpu'"):
        check_precision("float16", "cpu")
    with pytest.raises(ValueError, match="unknown dtype 'float64'"):
        check_precision("float64", "cpu")
    with pytest.raises(ValueError, match="dtype must be one of"):
        TrainConfig(dtype="fp16")
    assert make_scaler(torch.bfloat16, "cpu") is None  # bfloat16 has float32's range


def test_float16_loses_small_gradients_that_a_loss_scale_keeps():
    grads = torch.logspace(-10, -6, 41, dtype=torch.float64)  # 1e-10 ... 1e-6
    lost = flushed_to_zero(grads, torch.float16)
    # below half of float16's smallest subnormal, 2**-24, a value rounds to 0: 25 of the 41
    assert lost == pytest.approx((grads < 2.0 ** -25).double().mean().item()) == 25 / 41
    assert flushed_to_zero(grads, torch.float16, scale=2.0 ** 16) == 0.0
    assert flushed_to_zero(grads, torch.bfloat16) == 0.0  # 8 exponent bits: down to 1e-38
