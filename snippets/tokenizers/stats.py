"""Measurements that compare tokenizers: sequence length, out-of-vocabulary rate, embedding size,
and the token "tax" a tokenizer trained on one language charges other scripts
(Petrov et al., 2023, arXiv:2305.15425).
"""

# --8<-- [start:imports]
from collections.abc import Callable

import regex

WORDS = regex.compile(r"\w+|[^\w\s]")
# --8<-- [end:imports]


# --8<-- [start:tradeoffs]
def vocabulary_tradeoffs(train: str, test: str, encode_subword: Callable[[str], list[int]],
                         subword_vocab: int, d_model: int = 768) -> dict[str, dict[str, float]]:
    """Character, word and subword tokenization of the same held-out text.

    length: tokens for `test`; oov: share of test tokens missing from a vocabulary built on
    `train`; params: the embedding matrix, vocab x d_model.
    """
    chars = set(train)
    words = set(WORDS.findall(train))
    test_words = WORDS.findall(test)
    rows = {
        "character": {"vocab": len(chars), "length": len(test),
                      "oov": sum(c not in chars for c in test) / len(test)},
        "word": {"vocab": len(words), "length": len(test_words),
                 "oov": sum(w not in words for w in test_words) / len(test_words)},
        "subword": {"vocab": subword_vocab, "length": len(encode_subword(test)), "oov": 0.0},
    }
    return {name: row | {"params": row["vocab"] * d_model} for name, row in rows.items()}
# --8<-- [end:tradeoffs]


# --8<-- [start:token_tax]
# One sentence, translated by hand, in eight languages and six scripts.
SAMPLE_SENTENCES = {
    "English": "The weather is nice today, and we are going to walk in the park with our friends.",
    "French": "Il fait beau aujourd'hui, et nous allons nous promener dans le parc avec nos amis.",
    "German": "Heute ist schönes Wetter, und wir gehen mit unseren Freunden im Park spazieren.",
    "Russian": "Сегодня хорошая погода, и мы пойдём гулять в парк с нашими друзьями.",
    "Greek": "Σήμερα ο καιρός είναι ωραίος και θα πάμε βόλτα στο πάρκο με τους φίλους μας.",
    "Hindi": "आज मौसम अच्छा है, और हम अपने दोस्तों के साथ पार्क में टहलने जा रहे हैं।",
    "Chinese": "今天天气很好，我们要和朋友一起去公园散步。",
    "Japanese": "今日は天気が良いので、友達と一緒に公園を散歩します。",
}

def tokens_per_char(encode: Callable[[str], list[int]],
                    sentences: dict[str, str] = SAMPLE_SENTENCES) -> dict[str, float]:
    """Tokens per character of each sentence: the cost of the same meaning in each language."""
    return {lang: len(encode(s)) / len(s) for lang, s in sentences.items()}
# --8<-- [end:token_tax]
