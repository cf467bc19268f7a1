"""The 15% / 80-10-10 rule, tested on many draws with explicit confidence bounds."""

import math

import pytest
import torch

from snippets.models.mlm_masking import IGNORE, mask_tokens

PAD, CLS, SEP, MASK, V = 0, 2, 3, 4, 500
SPECIAL = [PAD, 1, CLS, SEP, MASK]


def corpus(B: int = 400, T: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, V, (B, T), generator=g)
    ids[:, 0], ids[:, 30], ids[:, -1] = CLS, SEP, SEP
    ids[::2, 50:] = PAD        # half the rows are padded at the end
    return ids


def within(count: int, n: int, p: float, z: float = 5.0) -> bool:
    """|count - n p| <= z sqrt(n p (1 - p)): a z = 5 bound fails a correct rule ~6e-7 of the time."""
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def test_selection_rate_and_80_10_10_split():
    ids = corpus()
    inputs, labels = mask_tokens(ids, SPECIAL, MASK, V, torch.Generator().manual_seed(1))
    ordinary = ~torch.isin(ids, torch.tensor(SPECIAL))
    selected = labels != IGNORE
    n_ord, n_sel = int(ordinary.sum()), int(selected.sum())
    assert n_ord > 15_000
    assert within(n_sel, n_ord, 0.15)
    n_mask = int((inputs[selected] == MASK).sum())
    n_same = int((inputs[selected] == ids[selected]).sum())
    n_random = n_sel - n_mask - n_same
    # a random draw equals the original with probability 1/495: "unchanged" is 10% + a sliver
    p_same = 0.1 + 0.1 / (V - len(SPECIAL))
    assert within(n_mask, n_sel, 0.8)
    assert within(n_same, n_sel, p_same)
    assert within(n_random, n_sel, 0.1 - 0.1 / (V - len(SPECIAL)))


def test_special_and_padding_never_selected_or_produced():
    ids = corpus()
    inputs, labels = mask_tokens(ids, SPECIAL, MASK, V, torch.Generator().manual_seed(2), rate=0.9)
    special = torch.isin(ids, torch.tensor(SPECIAL))
    assert (labels[special] == IGNORE).all()
    assert torch.equal(inputs[special], ids[special])
    random_draws = (labels != IGNORE) & (inputs != MASK) & (inputs != ids)
    assert not torch.isin(inputs[random_draws], torch.tensor(SPECIAL)).any()
    assert torch.equal(labels[labels != IGNORE], ids[labels != IGNORE])   # the label is the original


def test_dynamic_masking_differs_per_call_and_is_reproducible():
    ids = corpus(B=8)
    g = torch.Generator().manual_seed(3)
    first, _ = mask_tokens(ids, SPECIAL, MASK, V, g)
    second, _ = mask_tokens(ids, SPECIAL, MASK, V, g)   # "next epoch": same text, new mask
    assert not torch.equal(first, second)
    again, _ = mask_tokens(ids, SPECIAL, MASK, V, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rate=1.5), "rate"),
    (dict(p_mask=0.8, p_random=0.3), "p_mask \\+ p_random"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mask_tokens(corpus(B=2), SPECIAL, MASK, V, torch.Generator(), **kwargs)


def test_mask_id_must_be_special():
    with pytest.raises(ValueError, match="mask_id"):
        mask_tokens(corpus(B=2), [PAD], MASK, V, torch.Generator())
