import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sentence_transformers import SentenceTransformer  # noqa: E402

from snippets.embeddings.encoder import encode, hidden_states, load_minilm, minilm_path  # noqa: E402

TEXTS = ["What is AI?", "A dog barks at the postman in the morning.", "Ein Satz auf Deutsch, bitte."]


@pytest.fixture(scope="module")
def minilm():
    return load_minilm()


def test_our_pooling_equals_sentence_transformers(minilm):
    ours = encode(*minilm, TEXTS)
    theirs = SentenceTransformer(str(minilm_path()), device="cpu").encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_hidden_states_cover_every_layer(minilm):
    states, masks = hidden_states(*minilm, TEXTS[:2])
    L1, B, T, C = states[0].shape
    assert (L1, B, C) == (7, 2, 384) and masks[0].shape == (B, T)


def test_no_texts_is_an_error(minilm):
    with pytest.raises(ValueError, match="no texts"):
        encode(*minilm, [])
