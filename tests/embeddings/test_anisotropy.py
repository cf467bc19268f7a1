import numpy as np
import pytest

from snippets.embeddings.anisotropy import all_but_the_top, centre, mean_cosine, whitening


def cone(n=2000, c=32, seed=0):
    """Vectors sharing one large common direction, as a trained encoder's states do."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, c)) + 4.0 * np.ones(c) / np.sqrt(c) * 3


def test_isotropic_noise_has_mean_cosine_near_zero_and_a_cone_does_not():
    rng = np.random.default_rng(0)
    assert abs(mean_cosine(rng.normal(size=(2000, 32)))) < 0.02
    assert mean_cosine(cone()) > 0.8


def test_centring_removes_the_common_direction():
    assert abs(mean_cosine(centre(cone()))) < 0.02


def test_all_but_the_top_removes_the_top_directions():
    x = all_but_the_top(cone(), d=2)
    _, s, vt = np.linalg.svd(centre(cone()), full_matrices=False)
    np.testing.assert_allclose(x @ vt[:2].T, 0, atol=1e-9)


def test_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 8)) @ rng.normal(size=(8, 8)) + 5
    w, mu = whitening(x)
    np.testing.assert_allclose(np.cov(((x - mu) @ w).T), np.eye(8), atol=1e-6)
    assert whitening(x, dim=3)[0].shape == (8, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        mean_cosine(np.ones((1, 4)))
    with pytest.raises(ValueError, match="zero vector"):
        mean_cosine(np.zeros((3, 4)))
