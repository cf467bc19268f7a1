import numpy as np
import pytest
import scipy.sparse as sp
import torch

from snippets.embeddings.glove import glove_loss, glove_weight, train_glove


def test_weighting_function():
    x = torch.tensor([1.0, 50.0, 100.0, 1000.0], dtype=torch.float64)
    torch.testing.assert_close(glove_weight(x), torch.tensor([0.01**0.75, 0.5**0.75, 1.0, 1.0], dtype=torch.float64))


def test_objective_equals_a_loop():
    g = torch.Generator().manual_seed(0)
    w, wc = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    b, bc = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    i, j, x = torch.tensor([0, 1, 3]), torch.tensor([2, 2, 0]), torch.tensor([3.0, 150.0, 0.5], dtype=torch.float64)
    loop = 0.0
    for a, c, n in zip(i.tolist(), j.tolist(), x.tolist()):
        f = min((n / 100) ** 0.75, 1.0)
        loop += f * (float(w[a] @ wc[c]) + float(b[a]) + float(bc[c]) - np.log(n)) ** 2
    assert float(glove_loss(w, wc, b, bc, i, j, x)) == pytest.approx(loop, rel=1e-12)


def test_adagrad_training_fits_log_counts():
    rng = np.random.default_rng(0)
    x = sp.csr_matrix(rng.integers(0, 30, (20, 20)).astype(np.float64))
    _, losses = train_glove(x, dim=8, epochs=40, batch_size=64, lr=0.1)
    assert losses[-1] < 0.2 * losses[0]


def test_zero_counts_are_refused():
    z = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="non-zero"):
        glove_loss(z, z, z[0], z[0], torch.tensor([0]), torch.tensor([1]), torch.tensor([0.0]))
