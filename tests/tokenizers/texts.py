"""Small corpora the tokenizer tests build themselves (no network, no files)."""

import random


def synthetic_corpus(n_words: int = 3000, seed: int = 0) -> str:
    """Pseudo-words from syllables, with punctuation, digits, accents and an emoji."""
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "na", "lo", "mé", "su", "ber", "an", "the", "ing", "qu", "ü"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    out = []
    for i in range(n_words):
        word = rng.choice(words[: rng.randint(5, 300)])  # a skewed, Zipf-like choice
        if i % 17 == 0:
            word = word.capitalize()
        out.append(word)
        if i % 11 == 0:
            out.append(rng.choice([",", ".", "!", "'s", str(rng.randint(0, 99999)), "🙂"]))
    return " ".join(out) + "\n"
