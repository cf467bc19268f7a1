"""Whole-word and span selection, and the 80/10/10 corruption of any selection."""

import math

import pytest
import torch

from snippets.models.masking_strategies import IGNORE, corrupt, select_spans, select_whole_words

MASK, V = 4, 500
ORDINARY = torch.arange(5, V)


def within(count: float, n: int, p: float, z: float = 5.0) -> bool:
    """|count - n p| <= z sqrt(n p (1 - p)): a correct rule fails this ~6e-7 of the time."""
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def word_ids(B: int = 300, T: int = 64) -> torch.Tensor:
    """Words of 1 to 4 pieces; position 0 and the last are special (-1), rows padded from 50."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 5, (B, T), generator=g)
    ids = torch.full((B, T), -1)
    for b in range(B):
        pieces = torch.repeat_interleave(torch.arange(T), lengths[b])[: T - 2]
        ids[b, 1:T - 1] = pieces
    ids[::2, 50:] = -1
    return ids


def test_whole_words_are_selected_all_or_nothing_at_the_rate():
    words = word_ids()
    selected = select_whole_words(words, 0.3, torch.Generator().manual_seed(1))
    assert not selected[words < 0].any()
    n_words = n_chosen = 0
    for b in range(words.shape[0]):
        for w in words[b][words[b] >= 0].unique():
            pieces = selected[b, words[b] == w]
            assert pieces.all() or not pieces.any()  # never part of a word
            n_words += 1
            n_chosen += int(pieces.all())
    assert n_words > 5000 and within(n_chosen, n_words, 0.3)


def test_spans_hit_the_budget_exactly_and_have_the_truncated_geometric_mean():
    candidate = torch.ones(200, 128, dtype=torch.bool)
    candidate[:, 0] = candidate[:, -1] = False
    selected = select_spans(candidate, 0.15, torch.Generator().manual_seed(2))
    assert (selected.sum(1) == round(0.15 * 126)).all()  # 19 positions in every row
    assert not selected[~candidate].any()
    # runs of selected positions: spans, sometimes merged when two touch
    runs = [len(r) for row in selected.tolist()
            for r in "".join("x" if s else " " for s in row).split()]
    mean = sum(runs) / len(runs)
    assert 3.0 < mean < 6.0 and max(runs) > 1  # 3.8 a span, more where spans touch, less where cut
    singles = select_spans(candidate, 0.15, torch.Generator().manual_seed(2), p=0.999)
    assert (singles.sum(1) == 19).all()  # p -> 1: spans of one token, uniform masking


def test_corrupt_splits_any_selection_80_10_10():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(5, V, (400, 64), generator=g)
    selected = select_whole_words(word_ids(400), 0.4, g)
    inputs, labels = corrupt(ids, selected, MASK, ORDINARY, g)
    n_sel = int(selected.sum())
    assert torch.equal(labels != IGNORE, selected) and torch.equal(labels[selected], ids[selected])
    assert torch.equal(inputs[~selected], ids[~selected])
    n_mask = int((inputs[selected] == MASK).sum())
    n_same = int((inputs[selected] == ids[selected]).sum())
    p_same = 0.1 + 0.1 / len(ORDINARY)  # a random draw can be the original token
    assert within(n_mask, n_sel, 0.8) and within(n_same, n_sel, p_same)
    assert not torch.isin(inputs[selected & (inputs != MASK)], torch.arange(5)).any()


def test_the_same_generator_seed_gives_the_same_selection():
    candidate = torch.ones(4, 40, dtype=torch.bool)
    first = select_spans(candidate, 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(first, select_spans(candidate, 0.3, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, select_spans(candidate, 0.3, torch.Generator().manual_seed(6)))


@pytest.mark.parametrize("call, message", [
    (lambda: select_whole_words(torch.zeros(2, 3), 0.2, torch.Generator()), "LongTensor"),
    (lambda: select_whole_words(torch.zeros(2, 3, dtype=torch.long), 1.2, torch.Generator()),
     "rate must be in \\[0, 1\\], got 1.2"),
    (lambda: select_spans(torch.ones(2, 3), 0.2, torch.Generator()), "bool tensor"),
    (lambda: select_spans(torch.ones(2, 3, dtype=torch.bool), 0.2, torch.Generator(), p=0.0),
     "p=0.0"),
    (lambda: corrupt(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.bool),
                     MASK, ORDINARY, torch.Generator()), r"shape \(2, 3\)"),
    (lambda: corrupt(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.bool),
                     MASK, ORDINARY, torch.Generator(), p_random=0.5), "p_random=0.5"),
])
def test_bad_arguments_name_the_values(call, message):
    with pytest.raises(ValueError, match=message):
        call()
