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
# # BERT lab: mask words and watch a mini-BERT fill them in
#
# The lab of [the BERT family](../../bert_family/). all-MiniLM-L6-v2, the real model of the
# chapter, has no MLM head (it was trained as a sentence encoder), and the benchmark's
# checkpoint lives outside the repository, so this lab trains its own tiny BERT here, in a few
# seconds, on two plays. The tokenizer is our WordPiece with BERT-uncased's pieces (those the
# two plays use). Change `mask_rates` to see how the masking rate changes the loss (a higher rate
# gives more predictions per sequence but less context for each), `steps` to train longer, and
# `probes` to ask about other lines.

# %%
import os

os.environ["HF_HUB_OFFLINE"] = "1"
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from snippets.models.bert import BertConfig, BertForMaskedLM
from snippets.models.bert_weights import load_minilm
from snippets.models.mlm_masking import IGNORE, mask_tokens
from snippets.tokenizers.wordpiece import WordPiece
from snippets.training.plays import load_plays

mask_rates = [0.15, 0.40]   # try 0.05 or 0.6
steps = 40                  # more steps, better fills, proportionally longer wait
probes = ["to be , or not to be : that is the [MASK] .",
          "my lord , the king is [MASK] .",
          "good [MASK] , sweet lady ."]

torch.manual_seed(0)
plays = load_plays()
lines = plays["hamlet"][1] + plays["macbeth"][1]
_, bert_tokenizer = load_minilm()
encoded = [bert_tokenizer.encode(line) for line in lines]
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
used = sorted({i for ids in encoded for i in ids} - {bert_tokenizer.stoi[s] for s in specials})
vocab = specials + [bert_tokenizer.itos[i] for i in used]      # BERT's pieces, the used ones only
remap = {old: new for new, old in enumerate(used, start=len(specials))}
tok = WordPiece(vocab, pre_tokenizer=bert_tokenizer.pre_tokenizer)
print(f"{len(lines):,} lines, {sum(map(len, encoded)):,} pieces, vocabulary {len(vocab):,}")

# %%
T = 32
CLS, SEP, PAD, MASK = (tok.stoi[s] for s in ("[CLS]", "[SEP]", "[PAD]", "[MASK]"))
rows, current = [], []
for ids in encoded:                                          # pack consecutive lines into windows
    ids = [remap[i] for i in ids][: T - 2]
    if len(current) + len(ids) > T - 2:
        rows.append([CLS, *current, SEP] + [PAD] * (T - 2 - len(current)))
        current = []
    current += ids
if current:                                                  # the last, partly filled window
    rows.append([CLS, *current, SEP] + [PAD] * (T - 2 - len(current)))
data = torch.tensor(rows)                                    # (N, T)
train, test = data[: int(0.9 * len(data))], data[int(0.9 * len(data)):]
special_ids = [tok.stoi[s] for s in specials]
config = BertConfig(vocab_size=len(vocab), max_positions=T, n_layers=2, n_heads=2, d_model=64, d_ff=256)


def masked_loss(model, ids, g, rate):
    inputs, labels = mask_tokens(ids, special_ids, MASK, len(vocab), g, rate=rate)
    hidden, _ = model.bert(inputs, attention_mask=(ids != PAD).long())
    chosen = labels != IGNORE
    return F.cross_entropy(model.head(hidden[chosen]), labels[chosen])


fig, ax = plt.subplots(figsize=(7, 3.5))
start = time.perf_counter()
for rate in mask_rates:
    torch.manual_seed(0)
    model = BertForMaskedLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for step in range(steps):
        for group in opt.param_groups:                       # 10 steps of warm-up
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 10)
        batch = train[torch.randint(len(train), (32,), generator=g)]
        loss = masked_loss(model, batch, g, rate)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():                                    # held out, always at 15%
        held_out = masked_loss(model.eval(), test, torch.Generator().manual_seed(1), 0.15).item()
    ax.plot(losses, label=f"mask rate {rate:.0%}: held-out loss at 15% = {held_out:.2f}")
print(f"trained {len(mask_rates)} models in {time.perf_counter() - start:.1f} s")
ax.set_xlabel("step")
ax.set_ylabel("training MLM loss (nats)")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# ## Fill in the blanks
#
# The last model trained above fills each `[MASK]`; the five most probable pieces are shown.
# With the default 40 steps (chosen so that the site builds quickly) expect the *unigram
# plateau* of the chapter: the same guesses, the commonest pieces (a comma, a full stop, "the"),
# whatever the context, because predicting the frequency distribution is the first thing an MLM
# learns. Set `steps` to 400 or more, and `mask_rates` to one rate, and run again: the guesses
# start to depend on the words around the mask once the model leaves the plateau, which the
# chapter's benchmark shows happening within the first few hundred steps of a larger model.

# %%
model.eval()
for probe in probes:
    words = probe.split()
    pieces = [[MASK] if w == "[MASK]" else tok.encode(w) for w in words]   # WordPiece, as in training
    ids = [CLS] + [i for p in pieces for i in p] + [SEP]
    x = torch.tensor([ids])
    with torch.no_grad():
        logits, _ = model(x)
    where = ids.index(MASK)
    top = logits[0, where].softmax(-1).topk(5)
    guesses = ", ".join(f"{vocab[i]} ({p:.2f})" for p, i in zip(top.values.tolist(), top.indices.tolist()))
    print(f"{probe}\n    -> {guesses}")
