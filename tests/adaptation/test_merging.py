"""Task arithmetic, TIES and DARE on hand-computed tensors."""

import pytest
import torch

from snippets.adaptation.merging import (
    apply_delta, dare, task_arithmetic, task_vector, ties_merge, trim)


def test_task_vector_and_apply_round_trip():
    base = {"w": torch.tensor([1.0, 2.0])}
    tuned = {"w": torch.tensor([1.5, 1.0])}
    delta = task_vector(base, tuned)
    assert delta["w"].tolist() == [0.5, -1.0]
    assert apply_delta(base, delta)["w"].tolist() == [1.5, 1.0]
    assert apply_delta(base, delta, 0.5)["w"].tolist() == [1.25, 1.5]


def test_task_vector_needs_matching_keys():
    with pytest.raises(ValueError, match="differ in keys"):
        task_vector({"a": torch.zeros(1)}, {"b": torch.zeros(1)})


def test_task_arithmetic_sums():
    merged = task_arithmetic([{"w": torch.tensor([1.0, -2.0])}, {"w": torch.tensor([3.0, 2.0])}])
    assert merged["w"].tolist() == [4.0, 0.0]  # the second entry: the two tasks cancel


def test_trim_keeps_the_largest_magnitudes():
    d = torch.tensor([0.1, -3.0, 0.5, 2.0, -0.2])
    assert trim(d, keep=0.4).tolist() == [0.0, -3.0, 0.0, 2.0, 0.0]


def test_ties_by_hand():
    # three tasks, four entries; keep 3 of 4 entries per task (the smallest |.| trimmed)
    t1 = torch.tensor([1.0, -0.5, 0.1, 2.0])     # trims 0.1
    t2 = torch.tensor([0.2, 0.4, -1.0, -3.0])    # trims 0.2
    t3 = torch.tensor([0.6, -0.3, 0.8, 0.05])    # trims 0.05
    merged = ties_merge([{"w": t1}, {"w": t2}, {"w": t3}], keep=0.75)["w"]
    # entry 0: trimmed (1.0, 0, 0.6), sum +1.6 -> sign +, mean of (1.0, 0.6) = 0.8
    # entry 1: (-0.5, 0.4, -0.3), sum -0.4 -> sign -, mean of (-0.5, -0.3) = -0.4
    # entry 2: (0, -1.0, 0.8), sum -0.2 -> sign -, only -1.0 agrees = -1.0
    # entry 3: (2.0, -3.0, 0), sum -1.0 -> sign -, only -3.0 agrees = -3.0
    assert merged.tolist() == pytest.approx([0.8, -0.4, -1.0, -3.0])
    # task arithmetic on the same vectors: the disagreements cancel instead
    assert task_arithmetic([{"w": t1}, {"w": t2}, {"w": t3}])["w"].tolist() == \
        pytest.approx([1.8, -0.4, -0.1, -0.95])


def test_dare_drops_and_rescales_and_keeps_the_mean():
    g = torch.Generator().manual_seed(0)
    delta = {"w": torch.full((200_000,), 0.3, dtype=torch.float64)}
    out = dare(delta, drop=0.9, generator=g)["w"]
    kept = out[out != 0]
    assert torch.allclose(kept, torch.full_like(kept, 3.0))             # 0.3 / (1 - 0.9)
    assert abs((out != 0).double().mean().item() - 0.1) < 0.005        # about 10 % survive
    assert abs(out.mean().item() - 0.3) < 0.015                        # E[out] = delta


def test_dare_refuses_drop_of_one():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dare({"w": torch.ones(2)}, drop=1.0, generator=torch.Generator())
