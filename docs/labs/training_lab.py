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
# # Training lab
#
# Train a tiny character-level GPT on tiny Shakespeare for a few dozen steps and watch the
# loss fall from $\ln V$ towards the unigram entropy, the loss of a model that predicts letter
# frequencies and ignores its input (the dotted line). In 40 steps 1e-4 barely moves and no rate
# gets far below the unigram line; raise `steps` to see which rates go on past it. Change the
# learning rates, the warm-up, the batch size or the weight decay below and re-run.
# Everything is the library's own code (`snippets.training.loop`, `snippets.models.gpt`).

# %%
# The lab of the chapter building_mini_transformer.md (Building a mini transformer).
import math
from collections import Counter

import matplotlib.pyplot as plt
import torch

from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.text_data import train_val_split
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

learning_rates = [1e-4, 1e-3, 1e-2, 1e-1]
steps = 40                     # more steps, lower loss, longer wait
batch_size = 8
weight_decay = 0.1

text = tiny_shakespeare()
tok = CharTokenizer.train(text)
train_data, val_data = train_val_split(torch.tensor(tok.encode(text)), 0.1)
model_config = GPTConfig(vocab_size=tok.vocab_size, context_length=32, n_layers=2, n_heads=2,
                         d_model=32, bias=False)

fig, ax = plt.subplots(figsize=(7, 3.5))
for lr in learning_rates:
    config = TrainConfig(batch_size=batch_size, max_steps=steps, lr=lr, min_lr=lr / 10,
                         warmup_steps=max(1, steps // 10), weight_decay=weight_decay,
                         eval_interval=steps, eval_iters=4)
    state = TrainState.fresh(0)
    model = GPT(model_config)
    losses = []
    train(model, make_optimizer(model, config), train_data, val_data, config, state,
          on_step=lambda step, loss, lr: losses.append(loss))
    ax.plot(losses, label=f"lr {lr:.0e}: val {state.history[-1]['val_loss']:.2f}")
ax.axhline(math.log(tok.vocab_size), color="grey", linestyle="--", label="ln V")
counts = Counter(text)
unigram = -sum(c / len(text) * math.log(c / len(text)) for c in counts.values())
ax.axhline(unigram, color="grey", linestyle=":", label=f"unigram entropy {unigram:.2f}")
ax.set_xlabel("step")
ax.set_ylabel("training loss (nats)")
ax.legend(frameon=False)
plt.show()
