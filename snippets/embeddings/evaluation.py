"""Intrinsic evaluation: word similarity (Spearman) and analogies by 3CosAdd, with coverage stated.

Finkelstein et al. 2002 (WordSim-353), Hill et al. 2015 (SimLex-999), Mikolov et al. 2013
(arXiv:1301.3781, the Google analogy set), Levy & Goldberg 2014 (CoNLL, 3CosAdd vs 3CosMul).
Paired bootstrap (Efron and Tibshirani 1993) for comparing two models scored on the same items.
Shapes: V vocabulary, C width, Q questions, B bootstrap resamples, n items.
"""

# --8<-- [start:imports]
from collections.abc import Sequence
from itertools import permutations

import numpy as np
from scipy.stats import rankdata, spearmanr

from snippets.embeddings.text import gensim_data
# --8<-- [end:imports]


# --8<-- [start:data]
def load_similarity(name: str = "wordsim353.tsv") -> list[tuple[str, str, float]]:
    """(word, word, human score) triples of a gensim similarity file, lower-cased."""
    rows = []
    for line in gensim_data(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        a, b, score = line.split("\t")[:3]
        rows.append((a.lower(), b.lower(), float(score)))
    return rows


def load_analogies() -> dict[str, list[tuple[str, str, str, str]]]:
    """The Google analogy set by section: a b c d means a : b :: c : d."""
    sections: dict[str, list] = {}
    for line in gensim_data("questions-words.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            current = sections.setdefault(line[1:].strip(), [])
        elif line.strip():
            current.append(tuple(line.lower().split()))
    return sections
# --8<-- [end:data]


# --8<-- [start:shakespeare]
# Relations that Shakespeare's text supports, written for this chapter.
SHAKESPEARE_RELATIONS = {
    "gender": [("king", "queen"), ("lord", "lady"), ("man", "woman"), ("father", "mother"),
               ("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("he", "she"),
               ("him", "her"), ("boy", "girl"), ("uncle", "aunt"), ("duke", "duchess"),
               ("prince", "princess"), ("gentleman", "gentlewoman"), ("master", "mistress")],
    "plural": [("lord", "lords"), ("king", "kings"), ("man", "men"), ("eye", "eyes"),
               ("hand", "hands"), ("word", "words"), ("friend", "friends"), ("son", "sons"),
               ("heart", "hearts"), ("night", "nights"), ("day", "days"), ("soldier", "soldiers")],
    "pronoun": [("thou", "you"), ("thee", "you"), ("thy", "your"), ("thine", "yours"),
                ("art", "are"), ("hast", "have"), ("dost", "do"), ("wilt", "will"),
                ("shalt", "shall"), ("canst", "can")],
}


def relation_analogies(relations: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, ...]]]:
    """Every ordered pair of distinct pairs in a relation becomes one question a b c d."""
    return {name: [(a, b, c, d) for (a, b), (c, d) in permutations(pairs, 2)]
            for name, pairs in relations.items()}
# --8<-- [end:shakespeare]


# --8<-- [start:similarity]
def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """(V, C) rows scaled to norm 1; a zero row has no direction and is refused."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{int((norms == 0).sum())} zero vector(s): cosine is undefined for them")
    return vectors / norms


def similarity_spearman(vectors: np.ndarray, index: dict[str, int],
                        pairs: Sequence[tuple[str, str, float]]) -> tuple[float, int, int]:
    """Spearman rho between cosines and human scores on the covered pairs: (rho, covered, total)."""
    unit = unit_rows(vectors)
    covered = [(a, b, s) for a, b, s in pairs if a in index and b in index]
    if len(covered) < 3:
        raise ValueError(f"only {len(covered)} of {len(pairs)} pairs covered by the vocabulary")
    cos = [float(unit[index[a]] @ unit[index[b]]) for a, b, _ in covered]
    return float(spearmanr(cos, [s for *_, s in covered]).statistic), len(covered), len(pairs)


def pair_cosines(vectors: np.ndarray, index: dict[str, int],
                 pairs: Sequence[tuple[str, str, float]]) -> np.ndarray:
    """Cosine of every pair, NaN where a word is not covered: (n,), aligned with `pairs`."""
    unit = unit_rows(vectors)
    return np.array([float(unit[index[a]] @ unit[index[b]]) if a in index and b in index else np.nan
                     for a, b, _ in pairs])
# --8<-- [end:similarity]


# --8<-- [start:bootstrap]
# --8<-- [start:bootstrap_checks]
def _paired(a: np.ndarray, b: np.ndarray, n_min: int) -> None:
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need two 1-d arrays of one length, got {a.shape} and {b.shape}")
    if len(a) < n_min:
        raise ValueError(f"need at least {n_min} paired items, got {len(a)}")


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row of x (B, n) with the same row of y (B, n), ties given mean ranks."""
    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    return (rx * ry).sum(1) / np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
# --8<-- [end:bootstrap_checks]


# --8<-- [start:bootstrap_pairs]
def paired_bootstrap_spearman(cos_a: np.ndarray, cos_b: np.ndarray, human: np.ndarray, n_boot: int = 10_000,
                              level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """rho_A - rho_B on the same n pairs, and its percentile interval from n_boot resamples of the pairs.

    Each resample draws n pairs with replacement and scores *both* models on the same draw, so the
    pairs that are easy or hard for both cancel in the difference: the interval is that of the
    difference, usually much narrower than two separate intervals would suggest.
    """
    cos_a, cos_b, human = (np.asarray(x, dtype=np.float64) for x in (cos_a, cos_b, human))
    _paired(cos_a, cos_b, 3)
    _paired(cos_a, human, 3)
    diff = float(spearmanr(cos_a, human).statistic - spearmanr(cos_b, human).statistic)
    idx = np.random.default_rng(seed).integers(0, len(human), (n_boot, len(human)))   # (B, n)
    boot = _spearman_rows(cos_a[idx], human[idx]) - _spearman_rows(cos_b[idx], human[idx])
    boot = boot[np.isfinite(boot)]   # a draw with a constant column has no rank correlation
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return diff, float(low), float(high)


def paired_bootstrap_accuracy(correct_a: np.ndarray, correct_b: np.ndarray, n_boot: int = 10_000,
                              level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """acc_A - acc_B on the same n questions, and its percentile interval from resampled questions."""
    a, b = np.asarray(correct_a, dtype=np.float64), np.asarray(correct_b, dtype=np.float64)
    _paired(a, b, 1)
    idx = np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))          # (B, n)
    boot = (a[idx] - b[idx]).mean(1)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(a.mean() - b.mean()), float(low), float(high)
# --8<-- [end:bootstrap_pairs]
# --8<-- [end:bootstrap]


# --8<-- [start:analogy]
# --8<-- [start:analogy_core]
def analogy_predictions(unit: np.ndarray, q: np.ndarray, exclude: bool = True) -> np.ndarray:
    """3CosAdd: argmax_d cos(d, b - a + c) for Q questions q = (Q, 3) ids of a, b, c.

    With exclude=True the three query words cannot be the answer (what everyone reports);
    without it, b or c itself is very often the nearest word.
    """
    target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]     # (Q, C)
    scores = target @ unit.T                                     # (Q, V)
    if exclude:
        np.put_along_axis(scores, q, -np.inf, axis=1)
    return scores.argmax(axis=1)


def analogy_correct(vectors: np.ndarray, index: dict[str, int],
                    questions: Sequence[tuple[str, str, str, str]], exclude: bool = True,
                    batch: int = 2048) -> np.ndarray:
    """Per question: 1 right, 0 wrong, -1 not covered (a word outside the vocabulary). (Q,) int8."""
    unit = unit_rows(vectors)
    covered = np.array([all(w in index for w in q) for q in questions], dtype=bool)
    ids = np.array([[index[w] for w in q] for q, c in zip(questions, covered) if c], dtype=np.int64).reshape(-1, 4)
    out = np.full(len(questions), -1, dtype=np.int8)
    right = np.zeros(len(ids), dtype=np.int8)
    for s in range(0, len(ids), batch):
        right[s:s + batch] = analogy_predictions(unit, ids[s:s + batch, :3], exclude) == ids[s:s + batch, 3]
    out[covered] = right
    return out
# --8<-- [end:analogy_core]


# --8<-- [start:analogy_more]
def query_word_share(vectors: np.ndarray, index: dict[str, int],
                     questions: Sequence[tuple[str, str, str, str]]) -> float:
    """Share of the covered questions whose unrestricted 3CosAdd answer is a, b or c itself."""
    ids = np.array([[index[w] for w in q] for q in questions if all(w in index for w in q)],
                   dtype=np.int64).reshape(-1, 4)
    if len(ids) == 0:
        raise ValueError(f"none of the {len(questions)} questions is covered by the vocabulary")
    pred = analogy_predictions(unit_rows(vectors), ids[:, :3], exclude=False)
    return float((pred[:, None] == ids[:, :3]).any(1).mean())


def analogy_accuracy(vectors: np.ndarray, index: dict[str, int],
                     questions: Sequence[tuple[str, str, str, str]], exclude: bool = True,
                     batch: int = 2048) -> tuple[float, int, int]:
    """Accuracy on the questions whose four words are in the vocabulary: (acc, covered, total)."""
    right = analogy_correct(vectors, index, questions, exclude, batch)
    covered = right >= 0
    if not covered.any():
        raise ValueError(f"none of the {len(questions)} questions is covered by the vocabulary")
    return float(right[covered].mean()), int(covered.sum()), len(questions)


def nearest(vectors: np.ndarray, words: Sequence[str], index: dict[str, int], query: str,
            k: int = 5) -> list[tuple[str, float]]:
    """The k words of highest cosine to `query`, the query itself excluded."""
    if query not in index:
        raise KeyError(f"word {query!r} is not in the vocabulary of {len(words)} words")
    unit = unit_rows(vectors)
    cos = unit @ unit[index[query]]
    cos[index[query]] = -np.inf
    top = np.argsort(-cos, kind="stable")[:k]
    return [(words[i], float(cos[i])) for i in top]
# --8<-- [end:analogy_more]
# --8<-- [end:analogy]
