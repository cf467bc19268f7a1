import math

import pytest

from snippets.training.schedule import lr_at

KW = dict(max_lr=1e-3, min_lr=1e-4, warmup_steps=10, total_steps=110)


def test_warmup_is_linear_and_reaches_the_peak():
    assert lr_at(0, **KW) == pytest.approx(1e-4)
    assert lr_at(4, **KW) == pytest.approx(5e-4)
    assert lr_at(9, **KW) == pytest.approx(1e-3)
    assert lr_at(10, **KW) == pytest.approx(1e-3)


def test_cosine_passes_the_midpoint_and_ends_at_the_floor():
    assert lr_at(60, **KW) == pytest.approx((1e-3 + 1e-4) / 2)
    assert lr_at(35, **KW) == pytest.approx(1e-4 + 0.45e-3 * (1 + math.cos(math.pi / 4)))
    assert lr_at(110, **KW) == pytest.approx(1e-4)
    assert lr_at(5000, **KW) == pytest.approx(1e-4)


def test_decay_is_monotone():
    lrs = [lr_at(s, **KW) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


@pytest.mark.parametrize("bad", [dict(warmup_steps=200), dict(min_lr=1e-2), dict(warmup_steps=-1)])
def test_bad_arguments_are_named(bad):
    with pytest.raises(ValueError):
        lr_at(0, **{**KW, **bad})
