"""BPE training step by step on the classic "aaabdaaabac": the token sequence after each merge
that snippets.tokenizers.bpe.train_naive learns, replayed with its merge_pair (BPE page)."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.tokenizers.bpe import merge_pair, train_naive

TEXT = "aaabdaaabac"


def steps(text: str = TEXT) -> list[tuple[str, list[bytes]]]:
    """(label, tokens as bytes) before any merge and after each learned merge."""
    merges = train_naive(text, 256 + 3, pattern=None)
    vocab = {i: bytes([i]) for i in range(256)}
    ids = list(text.encode("utf-8"))
    rows = [("bytes", [vocab[i] for i in ids])]
    for k, (a, b) in enumerate(merges):
        new_id = 256 + k
        vocab[new_id] = vocab[a] + vocab[b]
        ids = merge_pair(ids, (a, b), new_id)
        rows.append((f"{vocab[a].decode()} + {vocab[b].decode()}", [vocab[i] for i in ids]))
    return rows


def draw() -> Figure:
    rows = steps()
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.0))
        for r, (label, tokens) in enumerate(rows):
            y = len(rows) - 1 - r
            x = 0.0
            for token in tokens:
                width = len(token)
                merged = len(token) > 1
                ax.add_patch(Rectangle((x + 0.06, y + 0.12), width - 0.12, 0.76, lw=1.2,
                                       ec="#08519c", fc="#c6dbef" if merged else "#f7f7f7"))
                ax.text(x + width / 2, y + 0.5, token.decode(), ha="center", va="center",
                        family="monospace", fontsize=13)
                x += width
            ax.text(-0.3, y + 0.5, label, ha="right", va="center")
            ax.text(len(TEXT) + 0.3, y + 0.5, f"{len(tokens)} tokens", ha="left", va="center")
        ax.set_xlim(-3.6, len(TEXT) + 3.2)
        ax.set_ylim(0, len(rows))
        ax.axis("off")
        ax.set_title("Each merge joins the most frequent adjacent pair")
        fig.tight_layout()
    return fig
