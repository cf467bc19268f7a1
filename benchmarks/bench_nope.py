"""Does a decoder need a position encoding? NoPE against learned and rotary positions, and an
encoder without a mask as the control (chapter 3, section 3.9).

The task is nothing but order: after a start token, read N random tokens, then N blanks, and
write the tokens in reverse order into the blanks (blank j holds token N-1-j). Every model is the same stack of
library blocks (RMSNorm, SwiGLU, no biases); only how position enters differs:

- causal, no encoding (NoPE): the causal mask is the only source of order;
- causal, learned absolute table (GPT-2's);
- causal, RoPE (Llama's);
- bidirectional, no encoding: permutation-equivariant, so every blank computes the same
  output; the best it can do is guess the input's most frequent token everywhere (the
  "order-blind ceiling", measured on the same held-out sequences).

Accuracy per blank on held-out sequences, median over seeds. BENCH_STEPS (default 1500) and
BENCH_SEEDS (default 3) shorten or lengthen the run. Writes results/nope.{json,md}.
"""

import json
import os
import statistics

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from snippets.layers.blocks import SelfAttentionBlock
from snippets.layers.normalization import make_norm
from snippets.layers.positional import LearnedPositionalEmbedding, RotaryEmbedding

STEPS = int(os.environ.get("BENCH_STEPS", 800))
SEEDS = int(os.environ.get("BENCH_SEEDS", 3))
N, VOCAB, BLANK, START = 8, 16, 0, 1   # start, N tokens from 2..15, N blanks
C, HEADS, LAYERS, BATCH, LR = 64, 4, 2, 64, 3e-3
ARMS = {"nope": ("causal", "none"), "learned": ("causal", "learned"), "rope": ("causal", "rope"),
        "encoder": ("bidirectional", "none")}


class Reverser(nn.Module):
    """Token embedding (+ a learned table) -> blocks (with RoPE inside attention) -> head."""

    def __init__(self, causal: bool, positions: str):
        super().__init__()
        self.causal = causal
        self.embed = nn.Embedding(VOCAB, C)
        self.table = LearnedPositionalEmbedding(2 * N + 1, C) if positions == "learned" else None
        self.rotary = RotaryEmbedding(C // HEADS) if positions == "rope" else None
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(C, HEADS, 3 * C, norm="rms", activation="swiglu", bias=False)
            for _ in range(LAYERS))
        self.norm = make_norm("rms", C)
        self.head = nn.Linear(C, VOCAB, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:               # (B, 2N + 1) -> (B, 2N + 1, V)
        x = self.embed(ids)
        if self.table is not None:
            x = self.table(x)
        for block in self.blocks:
            x = block(x, is_causal=self.causal, rotary=self.rotary)
        return self.head(self.norm(x))


def batch(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (n, 2N + 1): the start token, N tokens, N blanks; targets (n, N): the tokens reversed."""
    tokens = torch.randint(START + 1, VOCAB, (n, N), generator=g)
    ids = torch.cat([torch.full((n, 1), START), tokens, torch.full((n, N), BLANK)], dim=1)
    return ids, tokens.flip(1)


def run(arm: str, seed: int) -> dict:
    mode, positions = ARMS[arm]
    torch.manual_seed(seed)
    model = Reverser(mode == "causal", positions)
    g = torch.Generator().manual_seed(1000 + seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.1)
    for _ in range(STEPS):
        ids, targets = batch(BATCH, g)
        loss = F.cross_entropy(model(ids)[:, N + 1:].flatten(0, 1), targets.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        ids, targets = batch(2000, torch.Generator().manual_seed(99))
        logits = model(ids)[:, N + 1:]                                       # (2000, N, V)
        hit = (logits.argmax(-1) == targets).double()
        test_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten()).item()
    return {"arm": arm, "seed": seed, "final_train_loss": loss.item(), "test_loss": test_loss,
            "accuracy": hit.mean().item(), "by_blank": hit.mean(0).tolist(),
            "whole": hit.all(1).double().mean().item()}


def order_blind_ceiling() -> float:
    """Accuracy of writing the input's most frequent token into every blank: the blanks hold
    a permutation of the input, so that guess is right (count of the mode) / N times."""
    ids, _ = batch(2000, torch.Generator().manual_seed(99))
    counts = F.one_hot(ids[:, 1:N + 1], VOCAB).sum(1)                         # (2000, V)
    return (counts.max(1).values.double() / N).mean().item()


def main() -> None:
    torch.set_num_threads(1)
    watch = LoadWatch()
    runs = []
    for seed in range(SEEDS):
        for arm in ARMS:
            runs.append(run(arm, seed))
            r = runs[-1]
            print(f"{arm:8s} seed {seed}: accuracy {r['accuracy']:.3f}, whole {r['whole']:.3f}, "
                  f"loss {r['test_loss']:.3f}", flush=True)
    watch.stop()
    summary = {}
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        summary[arm] = {key: statistics.median(r[key] for r in mine)
                        for key in ("accuracy", "whole", "test_loss")}
        summary[arm]["by_blank"] = [statistics.median(r["by_blank"][j] for r in mine) for j in range(N)]
    out = {"steps": STEPS, "seeds": SEEDS, "ceiling": order_blind_ceiling(), "n": N,
           "vocab": VOCAB - 2, "width": C, "layers": LAYERS,
           "summary": summary, "runs": runs, **watch.as_dict(), "load_line": watch.line(),
           "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "nope.json").write_text(json.dumps(out) + "\n")
    write_markdown("nope.md", table(out))


NAMES = {"nope": "causal, no encoding (NoPE)", "learned": "causal, learned table",
         "rope": "causal, RoPE", "encoder": "no mask, no encoding"}


def table(data: dict) -> list[str]:
    s, half = data["summary"], data["n"] // 2
    rows = [f"| Model | accuracy | blanks 1-{half} | blanks {half + 1}-{data['n']} | whole sequence "
            "| test loss |", "|---|---:|---:|---:|---:|---:|"]
    for arm, name in NAMES.items():
        by = s[arm]["by_blank"]
        rows.append(f"| {name} | {s[arm]['accuracy']:.1%} | {statistics.fmean(by[:half]):.1%} | "
                    f"{statistics.fmean(by[half:]):.1%} | {s[arm]['whole']:.1%} | "
                    f"{s[arm]['test_loss']:.3f} |")
    rows += ["", f"Reverse {data['n']} tokens (vocabulary of {data['vocab']}) into {data['n']} "
             f"blanks; {data['layers']} blocks of width {data['width']}, {data['steps']} steps of "
             f"{BATCH} sequences; accuracy per blank on 2,000 held-out sequences, median over "
             f"{data['seeds']} seeds; an order-blind model's best (the input's most frequent token "
             f"in every blank) is {data['ceiling']:.1%}. "
             "[^nope-run]", "", f"[^nope-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
