# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # LoRA lab: rank, α, learning and forgetting
#
# A tiny character-level GPT is pre-trained for a few seconds on text A (courtly verse), then
# fine-tuned on text B (market news) twice: in full, and with LoRA adapters. Every few steps
# both losses are measured, so the plot shows learning (loss on B falls) and forgetting (loss
# on A rises) side by side. Change the knobs and run again:
#
# - `rank` $r$ and `alpha` $\alpha$: the update is $\Delta W = \frac{\alpha}{r} B A$. Raise
#   $r$ with $\alpha$ fixed and the scale $\alpha / r$ falls; set `rslora = True` to scale by
#   $\alpha / \sqrt{r}$ instead.
# - `targets`: which projections get adapters (`q_proj`, `k_proj`, `v_proj`, `out_proj`,
#   `ffn.up`, `ffn.down`).
# - `lora_lr` and `full_lr`: LoRA usually wants a learning rate several times larger.

# %%
import copy

import matplotlib.pyplot as plt
import torch

from snippets.adaptation.freezing import trainable_parameters
from snippets.adaptation.lora import add_lora
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.loop import train_step
from snippets.training.text_data import get_batch

rank = 4
alpha = 8
rslora = False
targets = ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"]
lora_lr = 1e-2
full_lr = 3e-3
steps = 80
seed = 0

# %%
text_a = ("the king is dead, long live the king. the queen is wise and the prince is bold. "
          "my lord, the castle gate is shut and the guards are at the wall. "
          "speak, good sir, and tell the king what news you bring from the north. ") * 4
text_b = ("shares rose on monday as the market rallied. the bank said profits were up "
          "ten percent and investors bought stocks across the board. "
          "the minister said the budget would cut tax for small firms. ") * 4
tok = CharTokenizer.train(text_a + text_b)
data_a, data_b = torch.tensor(tok.encode(text_a)), torch.tensor(tok.encode(text_b))
config = GPTConfig(vocab_size=tok.vocab_size, context_length=32, n_layers=2, n_heads=2,
                   d_model=48)


def losses(model: GPT) -> tuple[float, float]:
    with torch.no_grad():
        out = []
        for data in (data_a, data_b):
            x, y = get_batch(data, 64, 32, torch.Generator().manual_seed(99))
            out.append(model(x, y)[1].item())
    return out[0], out[1]


def fit(model: GPT, data: torch.Tensor, n: int, lr: float) -> list[tuple[int, float, float]]:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    curve = [(0, *losses(model))]
    for step in range(1, n + 1):
        x, y = get_batch(data, 16, 32, g)
        train_step(model, opt, x, y, lr, grad_clip=1.0)
        if step % 10 == 0:
            curve.append((step, *losses(model)))
    return curve


torch.manual_seed(seed)
pretrained = GPT(config)
fit(pretrained, data_a, 200, 3e-3)
full = copy.deepcopy(pretrained)
full_curve = fit(full, data_b, steps, full_lr)
lora = copy.deepcopy(pretrained)
add_lora(lora, targets, r=rank, alpha=alpha, rslora=rslora,
         generator=torch.Generator().manual_seed(seed))
lora_curve = fit(lora, data_b, steps, lora_lr)
print(f"trainable parameters: full {trainable_parameters(full):,}, "
      f"LoRA {trainable_parameters(lora):,} "
      f"({trainable_parameters(lora) / trainable_parameters(full):.1%})")
for name, curve in (("full", full_curve), ("LoRA", lora_curve)):
    a0, b0 = curve[0][1:]
    a1, b1 = curve[-1][1:]
    print(f"{name:<5} forgetting (rise on A) {a1 - a0:+.3f}   learning (fall on B) {b0 - b1:+.3f}")

# %%
fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 3.2), sharex=True)
for name, curve in (("full fine-tuning", full_curve), (f"LoRA r={rank}, α={alpha}", lora_curve)):
    s = [c[0] for c in curve]
    ax_a.plot(s, [c[1] for c in curve], marker="o", label=name)
    ax_b.plot(s, [c[2] for c in curve], marker="o", label=name)
ax_a.set_title("loss on text A (old): forgetting")
ax_b.set_title("loss on text B (new): learning")
for ax in (ax_a, ax_b):
    ax.set_xlabel("fine-tuning step")
ax_a.set_ylabel("nats / character")
ax_a.legend()
plt.show()

# %% [markdown]
# Things to try: `rank = 1` against `rank = 32` with `alpha = 8`. The scale $\alpha/r$ falls
# 32-fold, yet learning does not fall with it: Adam moves each entry of $A$ and $B$ by about
# `lora_lr` per step whatever the scale, and $BA$ sums $r$ rank-one terms, so $\alpha/r$ keeps
# the early update about the same size at every rank. Then the same with `rslora = True`, whose
# $\alpha/\sqrt{r}$ lets the larger rank move further; `targets = ["q_proj", "v_proj"]` (the
# LoRA paper's choice) against all six; and `full_lr`
# at `1e-2`, where full fine-tuning forgets text A almost entirely.
