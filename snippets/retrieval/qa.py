"""A small retrieval set from chatterbot-corpus: English questions, their answers as relevant documents.

Questions repeated with different answers are merged (each answer is relevant to the question);
an answer given to several questions is one document relevant to each of them.
"""

# --8<-- [start:imports]
import random
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import yaml
# --8<-- [end:imports]


# --8<-- [start:qa]
@dataclass(frozen=True)
class QASet:
    questions: list[str]             # Q unique questions
    documents: list[str]             # D unique answers
    qrels: list[dict[str, int]]      # per question: {document id: 1}; ids are str(index)


def english_files() -> list[Path]:
    spec = find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("chatterbot-corpus is not installed")
    return sorted((Path(next(iter(spec.submodule_search_locations))) / "data" / "english").glob("*.yml"))


def load_qa() -> QASet:
    """Every (question, answer) pair of the English files, deduplicated."""
    answers_of: dict[str, list[str]] = {}
    for path in english_files():
        for conv in yaml.safe_load(path.read_text(encoding="utf-8")).get("conversations", []):
            if len(conv) < 2 or not all(isinstance(t, str) for t in conv[:2]):
                continue
            q, a = conv[0].strip(), conv[1].strip()  # later turns of a dialogue are not answers to q
            if q and a:
                answers_of.setdefault(q, [])
                if a not in answers_of[q]:
                    answers_of[q].append(a)
    documents: dict[str, int] = {}
    qrels = []
    for q, answers in answers_of.items():
        qrels.append({str(documents.setdefault(a, len(documents))): 1 for a in answers})
    return QASet(list(answers_of), list(documents), qrels)
# --8<-- [end:qa]


# --8<-- [start:pairs]
def pairs(path: Path) -> list[tuple[str, str]]:
    """The (question, answer) pairs of one topic file, kept by load_qa's rule: the first two turns."""
    out = []
    for conv in yaml.safe_load(path.read_text(encoding="utf-8")).get("conversations", []):
        if len(conv) < 2 or not all(isinstance(t, str) for t in conv[:2]):
            continue
        q, a = conv[0].strip(), conv[1].strip()  # later turns of a dialogue are not answers to q
        if q and a:
            out.append((q, a))
    return out
# --8<-- [end:pairs]


# --8<-- [start:documents]
def topic_documents(max_words: int = 300) -> list[str]:
    """Longer documents: each topic file's answers, in file order, packed whole into documents of
    at most max_words words (an answer is never split across two). An answer given in several files
    appears once, in the first; one without a final '.', '!' or '?' gets a '.' so a sentence
    splitter sees where it ends."""
    if max_words <= 0:
        raise ValueError(f"max_words must be positive, got {max_words}")
    seen: set[str] = set()
    documents = []
    for path in english_files():
        current: list[str] = []
        count = 0
        for _, a in pairs(path):
            if a in seen:
                continue
            seen.add(a)
            text = " ".join(a.split())
            text = text if text[-1] in ".!?" else text + "."
            n = len(text.split())
            if current and count + n > max_words:
                documents.append(" ".join(current))
                current, count = [], 0
            current.append(text)
            count += n
        if current:
            documents.append(" ".join(current))
    return documents
# --8<-- [end:documents]


# --8<-- [start:split]
def split_questions(n_questions: int, test_fraction: float = 1 / 3, seed: int = 0) -> tuple[list[int], list[int]]:
    """Question indices shuffled once and cut: (train, test). The answers stay one shared corpus."""
    if not 0 < test_fraction < 1 or n_questions < 2:
        raise ValueError(f"need 0 < test_fraction < 1 and at least 2 questions, got {test_fraction}, {n_questions}")
    order = random.Random(seed).sample(range(n_questions), n_questions)
    n_test = max(1, round(n_questions * test_fraction))
    return sorted(order[n_test:]), sorted(order[:n_test])
# --8<-- [end:split]
