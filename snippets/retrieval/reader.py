"""An extractive reader: answer with the retrieved sentence whose vector is closest to the question's.

It stands in for the generator of a RAG system where no generative model runs, and it is honest
about what it is: it can only copy a whole sentence of the passages it is given, it never says
"I don't know", and its choice does not depend on the order of the passages (a maximum over
sentences, ties going to the first). It is a lower bound on what a reader could do with the same
passages, not a model of how an LLM reads them. Shapes: S sentences, C encoder width.
"""

# --8<-- [start:imports]
from collections.abc import Callable, Sequence

import numpy as np

from snippets.retrieval.chunking import split_sentences
# --8<-- [end:imports]


# --8<-- [start:reader]
def read_best_sentence(question_vector: np.ndarray, passages: Sequence[str],
                       encode: Callable[[list[str]], np.ndarray]) -> str:
    """The sentence of `passages` (in order) with the highest dot product with the question;
    vectors come from `encode` (unit length for cosine)."""
    sentences = [s for p in passages for s in split_sentences(p)]
    if not sentences:
        raise ValueError(f"no sentence to read in {len(passages)} passages")
    vectors = encode(sentences)                              # (S, C)
    if vectors.shape != (len(sentences), question_vector.shape[0]):
        raise ValueError(f"encode gave {vectors.shape} for {len(sentences)} sentences and a "
                         f"question of width {question_vector.shape[0]}")
    return sentences[int(np.argmax(vectors @ question_vector))]  # argmax: first of equal scores
# --8<-- [end:reader]
