import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss  # noqa: E402

from snippets.embeddings.sentence import info_nce, mean_pool  # noqa: E402


def test_mean_pool_ignores_padding():
    h = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    out = mean_pool(h, mask)
    torch.testing.assert_close(out[0], h[0, :2].mean(0))
    h2 = h.clone()
    h2[0, 2:] = 1e6   # whatever sits under the padding
    torch.testing.assert_close(mean_pool(h2, mask), out)


@pytest.mark.parametrize("hard", [False, True])
def test_info_nce_equals_multiple_negatives_ranking_loss(hard):
    g = torch.Generator().manual_seed(0)
    q, d, n = (torch.randn(8, 16, generator=g, dtype=torch.float64) for _ in range(3))
    loss = MultipleNegativesRankingLoss(model=None, scale=20.0)
    theirs = loss.compute_loss_from_embeddings([q, d, n] if hard else [q, d], labels=None)
    ours = info_nce(q, d, temperature=1 / 20.0, hard_negatives=n if hard else None)
    torch.testing.assert_close(ours, theirs)


def test_lower_temperature_sharpens():
    q = torch.eye(4, dtype=torch.float64)
    d = q + 0.3 * torch.ones(4, 4, dtype=torch.float64)
    assert info_nce(q, d, 0.05) < info_nce(q, d, 1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="differ in shape"):
        info_nce(torch.randn(4, 8), torch.randn(4, 6))
    with pytest.raises(ValueError, match="temperature"):
        info_nce(torch.randn(4, 8), torch.randn(4, 8), temperature=0)
    with pytest.raises(ValueError, match="mask shape"):
        mean_pool(torch.randn(2, 4, 3), torch.ones(2, 5))
