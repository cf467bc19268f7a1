"""Answer-level metrics for retrieval-augmented QA: SQuAD's exact match and token F1, and containment.

Normalisation follows the official SQuAD v1.1 evaluation script (Rajpurkar et al. 2016): lower-case,
delete punctuation, delete the articles a / an / the, collapse whitespace. F1 is over the bag of
normalised tokens; with several gold answers a prediction scores its best match (v1.1 gives F1 0
when nothing is shared, including an empty prediction). `contains` is the string test behind
DPR-style "the passage has the answer" retrieval accuracy, and behind a crude support check:
is the predicted answer present, word for word, in the text the reader was given?
"""

# --8<-- [start:imports]
import re
import string
from collections import Counter
from collections.abc import Sequence
# --8<-- [end:imports]


# --8<-- [start:squad]
PUNCTUATION = set(string.punctuation)
ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1: lower, drop punctuation, drop articles, one space between tokens."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall, tokens counted with multiplicity."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    shared = sum((Counter(pred) & Counter(ref)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(pred), shared / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(metric, prediction: str, golds: Sequence[str]) -> float:
    """A prediction's score against several acceptable answers: the best one (SQuAD's max)."""
    if not golds:
        raise ValueError("no gold answers to score against")
    return max(metric(prediction, g) for g in golds)
# --8<-- [end:squad]


# --8<-- [start:contains]
def contains(context: str, answer: str) -> bool:
    """The normalised answer occurs in the normalised context as a run of whole tokens."""
    needle = normalize_answer(answer)
    if not needle:
        raise ValueError(f"answer {answer!r} is empty after normalisation: containment is meaningless")
    return f" {needle} " in f" {normalize_answer(context)} "
# --8<-- [end:contains]
