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
# # GPT decoding lab
#
# A tiny character-level GPT is trained for a few seconds on a few lines of text. Then you
# pick a prompt and the decoding knobs: the temperature $\tau$ (logits divided by $\tau$;
# 0 means greedy), top-k (keep the $k$ most likely characters) and top-p (keep the smallest
# set whose probability reaches $p$). The bar chart shows the distribution the sampler draws
# the next character from, and the text below it is what the model writes with those
# settings. Try $\tau = 0$ (a loop), $\tau = 2$ (noise), then top-p 0.6 at $\tau = 1.2$.

# %%
import matplotlib.pyplot as plt
import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.models.sampling import next_token_probs

prompt = "the cat sat on the mat. the dog sat on the "  # try your own (letters from the text)
temperature = 1.0   # 0 = greedy
top_k = None        # e.g. 3
top_p = None        # e.g. 0.6
repetition_penalty = 1.0
new_characters = 80
seed = 0

# %%
text = (
    "the cat sat on the mat. the dog sat on the log. "
    "the cat saw the dog and the dog saw the cat. "
    "a bird sat on the cat. the mat was red and the log was wet. "
) * 4
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text])

torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=len(chars), context_length=32, n_layers=2, n_heads=2, d_model=48))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
batches = torch.Generator().manual_seed(0)
for step in range(151):
    starts = torch.randint(0, len(data) - 33, (16,), generator=batches)
    window = torch.stack([data[s:s + 33] for s in starts])  # (B, T+1)
    _, loss = model(window[:, :-1], window[:, 1:])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
print(f"final training loss {loss.item():.2f} nats")

# %%
ids = torch.tensor([[stoi[c] for c in prompt]])
with torch.no_grad():
    logits = model(ids[:, -32:])[0][:, -1]
base = next_token_probs(logits)[0]
shaped = next_token_probs(logits, ids, temperature=temperature, top_k=top_k, top_p=top_p,
                          repetition_penalty=repetition_penalty)[0]
order = base.argsort(descending=True)
labels = ["␣" if chars[i] == " " else chars[i] for i in order.tolist()]  # ␣ marks the space
fig, ax = plt.subplots(figsize=(8, 3))
ax.bar([x - 0.2 for x in range(len(chars))], base[order].numpy(), width=0.4, label="model")
ax.bar([x + 0.2 for x in range(len(chars))], shaped[order].numpy(), width=0.4, label="sampled from")
ax.set_xticks(range(len(chars)), labels)
ax.set_ylabel("probability")
ax.set_title(f"next character after {prompt[-12:]!r}")
ax.legend()
plt.show()

# %%
out = model.generate(ids, new_characters, temperature=temperature, top_k=top_k, top_p=top_p,
                     repetition_penalty=repetition_penalty,
                     generator=torch.Generator().manual_seed(seed))
print("".join(chars[i] for i in out[0].tolist()))
