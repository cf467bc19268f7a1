import os

import numpy as np
import pytest
import torch

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


def test_every_layer_equals_transformers_bert_in_float64(minilm):
    from transformers import AutoModel, AutoTokenizer
    tokenizer, model = minilm
    texts = [*TEXTS, "To be, or not to be: that is the question."]
    ours, masks = hidden_states(tokenizer, model.double(), texts)
    model.float()   # the fixture is shared: give it back in float32
    hf_tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    enc = hf_tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        theirs = torch.stack(AutoModel.from_pretrained(str(minilm_path())).double().eval()(
            **enc, output_hidden_states=True).hidden_states)
    assert torch.equal(masks[0], enc["attention_mask"])
    real = masks[0].bool()
    torch.testing.assert_close(ours[0][:, real], theirs[:, real], rtol=0, atol=1e-10)


def test_no_texts_is_an_error(minilm):
    with pytest.raises(ValueError, match="no texts"):
        encode(*minilm, [])
