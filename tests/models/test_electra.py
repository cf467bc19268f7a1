import pytest
import torch
import torch.nn.functional as F

from snippets.models.electra import corrupt_with_generator, electra_discriminator_loss, replaced_token_labels


def test_generator_samples_only_at_selected_positions_and_a_lucky_sample_is_original():
    ids = torch.tensor([[5, 6, 7, 8]])
    labels = torch.tensor([[-100, 6, -100, 8]])
    logits = torch.full((1, 4, 10), -1e9)
    logits[0, 1, 6] = 0.0     # the generator is sure of the right token at position 1
    logits[0, 3, 2] = 0.0     # and wrong at position 3
    corrupted = corrupt_with_generator(ids, labels, logits, torch.Generator().manual_seed(0))
    assert corrupted.tolist() == [[5, 6, 7, 2]]
    assert replaced_token_labels(ids, corrupted).tolist() == [[0.0, 0.0, 0.0, 1.0]]


def test_loss_is_bce_over_every_real_token():
    g = torch.Generator().manual_seed(0)
    original = torch.randint(0, 50, (3, 7), generator=g)
    corrupted = original.clone()
    corrupted[0, 2], corrupted[2, 5] = 49 - original[0, 2], 49 - original[2, 5]
    mask = torch.ones_like(original)
    mask[1, 4:] = 0
    scores = torch.randn(3, 7, generator=g)
    target = (original != corrupted).float()
    keep = mask.bool()
    expected = F.binary_cross_entropy_with_logits(scores[keep], target[keep])
    torch.testing.assert_close(electra_discriminator_loss(scores, original, corrupted, mask), expected)
    assert int(keep.sum()) == 18  # all 18 real tokens carry a loss, not just the 2 replaced ones


def test_shape_errors():
    x = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="must all be"):
        electra_discriminator_loss(torch.zeros(2, 4), x, x, torch.ones_like(x))
    with pytest.raises(ValueError, match="agree on"):
        corrupt_with_generator(x, x, torch.zeros(2, 4, 5), torch.Generator())
