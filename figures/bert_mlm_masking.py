"""What BERT's masking (snippets.models.mlm_masking.mask_tokens) does to each position of a batch."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from snippets.models.mlm_masking import IGNORE, mask_tokens

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = [PAD, UNK, CLS, SEP, MASK]
VOCAB = 1000
FATES = ("special or padding", "not selected", "[MASK]", "random token", "unchanged, predicted")
COLOURS = ("#ffffff", "#d9d9d9", "#1f5fa8", "#e08a2c", "#2e8b57")


def fates(rows: int, length: int, seed: int = 0) -> torch.Tensor:
    """(rows, length) index into FATES for one call of mask_tokens on a random padded batch."""
    g = torch.Generator().manual_seed(seed)
    batch = torch.randint(len(SPECIAL), VOCAB, (rows, length), generator=g)
    batch[:, 0], batch[:, -1] = CLS, SEP
    batch[::2, 3 * length // 4:] = PAD                        # every other row padded
    inputs, labels = mask_tokens(batch, SPECIAL, MASK, VOCAB, g)
    selected = labels != IGNORE
    fate = torch.ones_like(batch)                              # not selected
    fate[torch.isin(batch, torch.tensor(SPECIAL))] = 0
    fate[selected & (inputs == MASK)] = 2
    fate[selected & (inputs != MASK) & (inputs != batch)] = 3
    fate[selected & (inputs == batch)] = 4
    return fate


def shares(fate: torch.Tensor) -> dict[str, float]:
    """Share of ordinary positions selected, and of selected ones in each of the three actions."""
    ordinary, selected = (fate >= 1).sum().item(), (fate >= 2).sum().item()
    return {"selected": selected / ordinary,
            **{FATES[k]: (fate == k).sum().item() / selected for k in (2, 3, 4)}}


def draw() -> Figure:
    shown = fates(10, 30)
    measured = shares(fates(128, 512))                         # 57,152 ordinary positions
    fig, ax = plt.subplots(figsize=(6.4, 3.9))
    ax.imshow(shown.numpy(), cmap=ListedColormap(COLOURS), vmin=0, vmax=len(FATES) - 1,
              interpolation="nearest")
    ax.set_xticks([x - 0.5 for x in range(1, shown.shape[1])], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, shown.shape[0])], minor=True)
    ax.grid(which="minor", color="#9a9a9a", linewidth=0.4)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlabel("position", fontsize=13)
    ax.set_ylabel("sequence", fontsize=13)
    ax.set_title(f"{measured['selected']:.1%} of ordinary positions selected", fontsize=13)
    labels = [FATES[0], FATES[1]] + [f"{FATES[k]}: {measured[FATES[k]]:.1%}" for k in (2, 3, 4)]
    handles = [Patch(facecolor=c, edgecolor="#9a9a9a", label=t) for c, t in zip(COLOURS, labels)]
    ax.legend(handles=handles, fontsize=13, frameon=False, ncol=2, loc="upper center",
              bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    return fig
