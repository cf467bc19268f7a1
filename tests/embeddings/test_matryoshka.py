import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss  # noqa: E402
from sentence_transformers.sentence_transformer.losses.matryoshka import shrink  # noqa: E402

from snippets.embeddings.matryoshka import Projection, matryoshka_loss, train_projection  # noqa: E402
from snippets.embeddings.sentence import info_nce  # noqa: E402


def vectors(n: int = 8, C: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, C, generator=g, dtype=torch.float64) for _ in range(2))


def test_one_full_prefix_is_the_plain_contrastive_loss():
    q, d = vectors()
    torch.testing.assert_close(matryoshka_loss(q, d, [16]), info_nce(q, d))


def test_two_prefixes_by_hand_are_the_weighted_sum_of_their_losses():
    # 2-d vectors: prefix 1 sees only the first coordinate, so every cosine there is +-1
    q = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64)
    d = torch.tensor([[2.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    t = 0.5
    # prefix 1: cos = [[1, -1], [1, -1]]; prefix 2: cos = [[1/sqrt2, 0], [1/sqrt2, -1]]
    l1 = 0.5 * (-torch.log_softmax(torch.tensor([2.0, -2.0]), 0)[0] - torch.log_softmax(torch.tensor([2.0, -2.0]), 0)[1])
    r = 2 ** -0.5 / t
    l2 = 0.5 * (-torch.log_softmax(torch.tensor([r, 0.0]), 0)[0] - torch.log_softmax(torch.tensor([r, -2.0]), 0)[1])
    ours = matryoshka_loss(q, d, [1, 2], temperature=t, weights=[1.0, 3.0])
    torch.testing.assert_close(ours, (l1 + 3 * l2).to(torch.float64))


def test_equals_sentence_transformers_shrink_and_multiple_negatives_ranking_loss():
    q, d = vectors(C=32)
    dims = [4, 8, 16, 32]
    mnrl = MultipleNegativesRankingLoss(model=None, scale=20.0)
    theirs = sum(mnrl.compute_loss_from_embeddings([shrink(q, m), shrink(d, m)], labels=None) for m in dims)
    torch.testing.assert_close(matryoshka_loss(q, d, dims, temperature=1 / 20.0), theirs)


def test_bad_dims_and_weights_name_the_problem():
    q, d = vectors()
    for dims in ([], [0, 8], [8, 17], [8, 4], [4, 4]):
        with pytest.raises(ValueError, match=r"increasing prefix lengths in \[1, 16\]"):
            matryoshka_loss(q, d, dims)
    with pytest.raises(ValueError, match="2 weights for 3 prefix lengths"):
        matryoshka_loss(q, d, [4, 8, 16], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="one shape"):
        train_projection(q, d[:, :8], [8])


def test_projection_starts_as_the_identity_and_training_lowers_the_short_prefix_loss():
    q, d = vectors(n=64, C=16)
    d = q + 0.5 * d                                   # answers near their questions
    torch.testing.assert_close(Projection(16)(q), q)
    before = matryoshka_loss(q, d, [2]).item()
    proj = train_projection(q, d, [2, 4, 16], steps=60, batch_size=64, lr=1e-2)
    with torch.no_grad():
        after = matryoshka_loss(proj(q), proj(d), [2]).item()
    assert after < 0.8 * before


def test_projection_can_start_from_a_given_map_and_rejects_a_wrong_shape():
    q, _ = vectors()
    rotation, _ = torch.linalg.qr(q[:, :8].T @ q[:, :8] + torch.eye(8, dtype=torch.float64))
    torch.testing.assert_close(Projection(8, start=rotation)(q[:, :8]), q[:, :8] @ rotation.T)
    with pytest.raises(ValueError, match=r"start must be \(8, 8\)"):
        Projection(8, start=torch.eye(4, dtype=torch.float64))
