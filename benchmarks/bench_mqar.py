"""Multi-query associative recall (MQAR; Arora et al., 2023, "Zoology", arXiv:2312.04927) for
softmax attention, linear attention and a selective SSM at about equal parameters (chapter 1).

A sequence holds n key-value pairs, k_1 v_1 ... k_n v_n, then every key once more in a random
order, each followed by its value; the model is scored on predicting the value at each repeated
key. Keys and values are drawn without repetition from 64 tokens each. Every model is the same
two-layer stack (embedding; per layer a depthwise causal convolution of width 3, the sequence
mixer and an MLP, pre-norm residuals; an output head) and differs only in the mixer:
softmax attention (snippets.layers.attention.MultiHeadAttention), causal linear attention
(snippets.layers.linear_attention.CausalLinearAttention) or a Mamba-2-style block: a selective
SSM with input-dependent step, B and C, and a scalar decay per head, computed in its SSD matrix
form (snippets.layers.ssm.ssd_matrix, proven equal to the recurrence in tests/layers/test_ssm.py;
the diagonal-A scan of Mamba-1 is too slow to train on a CPU at these lengths). The convolution
gives every mixer the previous token, as Mamba's block and Zoology's models have. Each model trains on a mixture of n in PAIRS with one
recipe, and is scored on 512 fresh sequences per n. Accuracy is reported per n, next to the
decoding state each mixer keeps per layer.

BENCH_STEPS (default 1500) shortens or lengthens the run; BENCH_PARALLEL=1 trains the three
models in three processes at once (one thread each). Writes results/mqar.{json,md}.
"""

import json
import math
import multiprocessing
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from snippets.layers.attention import MultiHeadAttention
from snippets.layers.linear_attention import CausalLinearAttention
from snippets.layers.ssm import ssd_matrix

STEPS = int(os.environ.get("BENCH_STEPS", 1500))
KEYS = VALUES = 64
PAIRS = [4, 8, 16, 32, 64]
D_MODEL, HEADS, D_STATE, BATCH, LR, SEED = 64, 2, 32, 32, 3e-3, 0


def mqar_batch(n: int, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (B, 4n) and targets (B, 4n), -100 except at the repeated keys."""
    keys = torch.stack([torch.randperm(KEYS, generator=gen)[:n] for _ in range(batch)])
    values = KEYS + torch.stack([torch.randperm(VALUES, generator=gen)[:n] for _ in range(batch)])
    order = torch.stack([torch.randperm(n, generator=gen) for _ in range(batch)])
    q_keys, q_values = keys.gather(1, order), values.gather(1, order)
    context = torch.stack([keys, values], dim=-1).flatten(1)             # k1 v1 k2 v2 ...
    queries = torch.stack([q_keys, q_values], dim=-1).flatten(1)
    ids = torch.cat([context, queries], dim=1)                            # (B, 4n)
    targets = torch.full_like(ids, -100)
    targets[:, 2 * n::2] = q_values                                       # predict v at its key
    return ids, targets


class SSDMixer(nn.Module):
    """A Mamba-2-style block without its own convolution (the stack has one). As in Mamba-2,
    one projection of the input gives the SSM's input x, the gate z, B, C (one group, shared by
    the heads) and the step delta per head; per head, a selective SSM with the decay
    a_t = exp(delta_t A) and inputs delta_t x_t, in its matrix form (ssd_matrix); then the gated
    RMSNorm, norm(y * SiLU(z)), and the output projection.

    An earlier version, which made B, C and delta from the x branch (a second projection after
    in_proj, as Mamba-1 does) and kept Mamba-2's two choices below, stayed at chance (loss
    ln 64: values, but not which) for 1,500 steps. In probes of 300 steps on n = 4, 8 the loss
    reached about 0.6 with all three changes and stayed above 3.1 without any one of them. The
    two that differ from Mamba-2:
    - B and C pass through elu + 1, linear attention's positive feature map (Mamba-2 has SiLU
      after its convolution): with C_i . B_j > 0 the read is a positively weighted sum of the
      values, which the RMSNorm turns into a weighted average, as linear attention's
      denominator does;
    - no skip D x (Mamba-2 starts it at 1): with steps of 1e-3 to 1e-1 it outweighs the SSM's
      output many times over, and the RMSNorm then shrinks the SSM's share to almost nothing.
      The block's residual connection already carries the input past the mixer (a D started
      at 0 learns as well)."""

    def __init__(self, d_model: int, heads: int, d_state: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model={d_model} must split into heads={heads}")
        self.heads, self.d_state = heads, d_state
        self.in_proj = nn.Linear(d_model, 2 * d_model + 2 * d_state + heads, bias=False)
        # Mamba's start: steps log-uniform in [1e-3, 1e-1] (softplus's inverse as the bias), so
        # a_t = exp(delta_t A) begins close to 1 and the state remembers; A = -1 .. -heads.
        dt = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), heads))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1.0, heads + 1)))
        self.norm = nn.RMSNorm(d_model)                                   # Mamba-2's gated norm
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        H, N = self.heads, self.d_state
        u, z, b, c, dt = self.in_proj(x).split([C, C, N, N, H], dim=-1)
        delta = F.softplus(dt + self.dt_bias).transpose(1, 2)             # (B, H, T), > 0
        a = torch.exp(-torch.exp(self.A_log)[:, None] * delta)            # (B, H, T), in (0, 1]
        b, c = F.elu(b) + 1, F.elu(c) + 1                                 # (B, T, N), > 0
        heads = u.view(B, T, H, C // H).transpose(1, 2)                   # (B, H, T, P)
        y = ssd_matrix((delta.unsqueeze(-1) * heads).flatten(0, 1), a.flatten(0, 1),
                       b.repeat_interleave(H, 0), c.repeat_interleave(H, 0))  # (B H, T, P)
        y = y.view(B, H, T, -1).transpose(1, 2).reshape(B, T, C)          # heads back side by side
        return self.out_proj(self.norm(y * F.silu(z)))


def make_mixer(kind: str) -> nn.Module:
    if kind == "attention":
        return MultiHeadAttention(D_MODEL, HEADS, bias=False)
    if kind == "linear attention":
        return CausalLinearAttention(D_MODEL, HEADS)
    return SSDMixer(D_MODEL, HEADS, D_STATE)


class Block(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv1d(D_MODEL, D_MODEL, kernel_size=3, groups=D_MODEL, padding=2)
        self.norm1, self.norm2 = nn.LayerNorm(D_MODEL), nn.LayerNorm(D_MODEL)
        self.mixer = make_mixer(kind)
        self.mlp = nn.Sequential(nn.Linear(D_MODEL, 2 * D_MODEL), nn.GELU(), nn.Linear(2 * D_MODEL, D_MODEL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        x = x + self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)     # causal: drop the tail
        h = self.norm1(x)
        x = x + (self.mixer(h, is_causal=True) if self.kind == "attention" else self.mixer(h))
        return x + self.mlp(self.norm2(x))


class Recaller(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.embed = nn.Embedding(KEYS + VALUES, D_MODEL)
        self.blocks = nn.ModuleList([Block(kind), Block(kind)])
        self.norm = nn.LayerNorm(D_MODEL)
        self.head = nn.Linear(D_MODEL, KEYS + VALUES)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))                                    # (B, T, V)


def mixer_parameters(kind: str) -> int:
    return sum(p.numel() for p in make_mixer(kind).parameters())


def state_numbers(kind: str, n: int) -> int:
    """Numbers a mixer keeps per layer and sequence to decode the next token after 4n tokens."""
    if kind == "attention":
        return 2 * 4 * n * D_MODEL                                        # K and V of every token
    if kind == "linear attention":
        d = D_MODEL // HEADS
        return HEADS * (d * d + d)
    return HEADS * D_STATE * (D_MODEL // HEADS)                       # N x P per head


def accuracy(model: nn.Module, n: int) -> float:
    gen = torch.Generator().manual_seed(1000 + n)
    model.eval()
    with torch.no_grad():
        ids, targets = mqar_batch(n, 512, gen)
        pred = model(ids).argmax(-1)
    model.train()
    scored = targets != -100
    return (pred[scored] == targets[scored]).double().mean().item()


def run(kind: str) -> dict:
    torch.manual_seed(SEED)
    model = Recaller(kind)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=STEPS, pct_start=0.1)
    gen = torch.Generator().manual_seed(SEED)
    cpu0 = time.process_time()
    for step in range(STEPS):
        n = PAIRS[step % len(PAIRS)]
        ids, targets = mqar_batch(n, BATCH, gen)
        loss = F.cross_entropy(model(ids).flatten(0, 1), targets.flatten(), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    cpu = time.process_time() - cpu0
    return {"kind": kind, "mixer_parameters": mixer_parameters(kind),
            "parameters": sum(p.numel() for p in model.parameters()),
            "cpu_s": round(cpu, 1), "final_loss": round(loss.item(), 4),
            "accuracy": {str(n): accuracy(model, n) for n in PAIRS},
            "state_numbers": {str(n): state_numbers(kind, n) for n in PAIRS}}


def run_one_thread(kind: str) -> dict:
    torch.set_num_threads(1)
    result = run(kind)
    print(result, flush=True)
    return result


def main() -> None:
    torch.set_num_threads(1)
    watch = LoadWatch()
    kinds = ["attention", "linear attention", "selective SSM (SSD)"]
    if os.environ.get("BENCH_PARALLEL"):  # one process per model, one thread each
        with multiprocessing.get_context("spawn").Pool(len(kinds)) as pool:
            runs = pool.map(run_one_thread, kinds)
    else:
        runs = [run_one_thread(kind) for kind in kinds]
    watch.stop()
    out = {"steps": STEPS, "batch": BATCH, "lr": LR, "d_model": D_MODEL, "heads": HEADS,
           "d_state": D_STATE, "pairs": PAIRS, "runs": runs, **watch.as_dict(),
           "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mqar.json").write_text(json.dumps(out, indent=1) + "\n")
    write_markdown("mqar.md", table(out))


def table(data: dict) -> list[str]:
    pairs = data["pairs"]
    rows = ["| Mixer | Mixer parameters | Decoding state per layer (numbers) | "
            + " | ".join(f"n = {n}" for n in pairs) + " |",
            "|---|---:|---:|" + "---:|" * len(pairs)]
    for r in data["runs"]:
        state = r["state_numbers"]
        grows = r["kind"] == "attention"
        state_text = (f"{state[str(pairs[0])]:,} to {state[str(pairs[-1])]:,} (grows with n)"
                      if grows else f"{state[str(pairs[0])]:,}")
        rows.append(f"| {r['kind']} | {r['mixer_parameters']:,} | {state_text} | "
                    + " | ".join(f"{r['accuracy'][str(n)]:.0%}" for n in pairs) + " |")
    rows += ["", f"Recall accuracy at the repeated keys (512 fresh sequences per n), after "
             f"{data['steps']:,} steps of batch {data['batch']} on a mixture of n; width "
             f"{data['d_model']}, 2 layers, {data['heads']} heads, SSM state size {data['d_state']}; "
             f"one seed, one thread per model. [^mqar-run]", "",
             f"[^mqar-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
