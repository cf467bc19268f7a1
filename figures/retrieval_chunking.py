"""Left: whether the answer is in the context, and the reader's exact match, against chunk size for
three chunkers, the context being the best chunks cut to the same number of words.
Right: the reader's exact match as chunks without the answer are added to the gold one.

Reads the file that `python -m benchmarks rag` writes; draws a note if it is missing.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "rag.json"
CHUNKERS = (("fixed", "o"), ("sentence", "s"), ("overlap 1/4", "^"))
KINDS = (("random", "o-"), ("hard", "s-"))


def chunking_curves(run: dict) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """Per chunker: sizes, and the hit and EM within the word budget, as the results file stores them."""
    sizes = run["setup"]["sizes"]
    return {name: (sizes, [run["means"][f"{name}|{s}|MiniLM"]["hit, budget"] for s in sizes],
                   [run["means"][f"{name}|{s}|MiniLM"]["EM, budget"] for s in sizes]) for name, _ in CHUNKERS}


def distraction_curves(run: dict) -> dict[str, tuple[list[int], list[float]]]:
    """Per kind of distractor: how many were added, and the reader's EM with the gold chunk first."""
    ns = run["setup"]["distractors"]
    return {kind: (ns, [run["distraction"][f"{kind}|{n}|first"]["EM"] for n in ns]) for kind, _ in KINDS}


def draw() -> plt.Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.8))
    if not RESULTS.exists():
        left.text(0.5, 0.5, "run: python -m benchmarks rag", ha="center", va="center")
        return fig
    run = json.loads(RESULTS.read_text())
    for (name, marker), (sizes, hit, em) in zip(CHUNKERS, chunking_curves(run).values()):
        line, = left.plot(sizes, hit, marker + "-", ms=6, label=f"{name}: in context")
        left.plot(sizes, em, marker + "--", ms=6, color=line.get_color(), label=f"{name}: EM")
    left.set_xscale("log", base=2)
    left.set_xticks(run["setup"]["sizes"], [str(s) for s in run["setup"]["sizes"]])
    left.set_xlabel(f"chunk size (words); context cut to {run['setup']['budget']} words", fontsize=10)
    left.set_ylabel("fraction of questions", fontsize=11)
    left.set_ylim(0, 1)
    left.grid(alpha=0.3)
    left.legend(fontsize=7.5, loc="upper center", ncol=3, handlelength=1.5, columnspacing=0.8)
    for (kind, style), (ns, em) in zip(KINDS, distraction_curves(run).values()):
        right.plot(ns, em, style, ms=6, label=f"{kind} distractors")
    right.set_xlabel("chunks without the answer added", fontsize=11)
    right.set_ylabel("reader exact match", fontsize=11)
    right.set_ylim(0, 1)
    right.grid(alpha=0.3)
    right.legend(fontsize=9)
    fig.tight_layout()
    return fig
