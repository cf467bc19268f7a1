"""The full encoder-decoder Transformer (Vaswani et al., 2017, arXiv:1706.03762), its
parameter and FLOP counts, the warm-up schedule, label smoothing, and a toy task
(reverse a digit string) that it learns on a CPU.

Shape legend: B batch, T_s source length, T_t target length, C model width, V vocab.
"""

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.blocks import DecoderBlock, SelfAttentionBlock
from snippets.layers.normalization import make_norm
from snippets.layers.positional import SinusoidalPositionalEncoding
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class Seq2SeqConfig:
    vocab_size: int = 13          # shared by source and target, as in the paper's joint BPE
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 256
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    max_len: int = 64             # rows of the positional table
    dropout: float = 0.0
    norm_first: bool = True       # Pre-LN; False is the paper's Post-LN
    activation: str = "relu"
    tie_weights: bool = True      # one matrix for source embedding, target embedding and output
    pad_id: int = 0
# --8<-- [end:config]


# --8<-- [start:model]
class Seq2SeqTransformer(nn.Module):
    """Encoder stack over the source, decoder stack over the target, tied output projection."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        if cfg.d_model % cfg.n_heads != 0:
            raise ValueError(f"d_model={cfg.d_model} is not divisible by n_heads={cfg.n_heads}")
        self.cfg = cfg
        C = cfg.d_model
        self.embed = nn.Embedding(cfg.vocab_size, C, padding_idx=cfg.pad_id)
        # times sqrt(C) below: unit variance. Tied, so at initialisation the input token's own
        # logit is about sqrt(C) / rms(stream): the model starts by predicting its input.
        nn.init.normal_(self.embed.weight, std=C ** -0.5)
        self.pos = SinusoidalPositionalEncoding(C, cfg.max_len)
        block = dict(dropout=cfg.dropout, norm_first=cfg.norm_first, activation=cfg.activation)
        self.encoder = nn.ModuleList(SelfAttentionBlock(C, cfg.n_heads, cfg.d_ff, **block)
                                     for _ in range(cfg.n_encoder_layers))
        self.decoder = nn.ModuleList(DecoderBlock(C, cfg.n_heads, cfg.d_ff, **block)
                                     for _ in range(cfg.n_decoder_layers))
        # Pre-LN leaves the residual stream unnormalised: each stack ends with one more norm.
        self.encoder_norm = make_norm("layer", C) if cfg.norm_first else nn.Identity()
        self.decoder_norm = make_norm("layer", C) if cfg.norm_first else nn.Identity()
        self.lm_head = nn.Linear(C, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.embed.weight  # (V, C): the same Parameter object
        self.drop = nn.Dropout(cfg.dropout)

    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, C)
        if ids.dim() != 2:
            raise ValueError(f"token ids must be (B, T), got {tuple(ids.shape)}")
        return self.drop(self.pos(self.embed(ids) * math.sqrt(self.cfg.d_model)))

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:  # (B, T_s) -> (B, 1, 1, T_s)
        return (src != self.cfg.pad_id)[:, None, None, :]  # True = a real token, may be attended

    def encode(self, src: torch.Tensor) -> torch.Tensor:  # (B, T_s) -> (B, T_s, C)
        x, mask = self.embed_tokens(src), self.source_mask(src)
        for block in self.encoder:
            x = block(x, mask=mask)
        return self.encoder_norm(x)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor,
               src: torch.Tensor) -> torch.Tensor:  # (B, T_t) -> (B, T_t, V)
        y, mask = self.embed_tokens(tgt_in), self.source_mask(src)
        for block in self.decoder:
            y = block(y, memory, memory_mask=mask)
        return self.lm_head(self.decoder_norm(y))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src), src)  # (B, T_t, V) logits

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, bos_id: int, eos_id: int, max_new: int) -> torch.Tensor:
        """Append the arg-max token until every row has emitted EOS (or max_new steps)."""
        memory = self.encode(src)                                    # computed once
        out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        for _ in range(max_new):
            next_id = self.decode(out, memory, src)[:, -1].argmax(dim=-1)  # (B,)
            next_id = next_id.masked_fill(done, self.cfg.pad_id)           # finished rows pad
            out = torch.cat([out, next_id[:, None]], dim=1)
            done |= next_id == eos_id
            if done.all():
                break
        return out[:, 1:]  # drop BOS
# --8<-- [end:model]


# --8<-- [start:param_count]
def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in model.parameters())


def approx_parameters(n_layers: int, d_model: int, vocab_size: int, n_positions: int = 0) -> int:
    """12 L d^2 for the blocks (4d^2 attention + 8d^2 FFN with d_ff = 4d) plus embeddings."""
    return 12 * n_layers * d_model**2 + (vocab_size + n_positions) * d_model


def gpt2_parameters(n_layers: int, d_model: int, n_heads: int, vocab_size: int, n_positions: int) -> int:
    """GPT-2 layout from our blocks, built on the meta device (shapes only, no memory):
    token + position tables, Pre-LN blocks, a final norm; the output matrix is tied."""
    with torch.device("meta"):
        blocks = nn.ModuleList(SelfAttentionBlock(d_model, n_heads, 4 * d_model) for _ in range(n_layers))
    return (vocab_size + n_positions) * d_model + count_parameters(blocks) + 2 * d_model


def bert_parameters(n_layers: int, d_model: int, n_heads: int, vocab_size: int, n_positions: int) -> int:
    """BERT layout: token + position + 2 segment tables and their norm, Post-LN blocks, pooler."""
    with torch.device("meta"):
        blocks = nn.ModuleList(SelfAttentionBlock(d_model, n_heads, 4 * d_model, norm_first=False)
                               for _ in range(n_layers))
    embeddings = (vocab_size + n_positions + 2) * d_model + 2 * d_model
    return embeddings + count_parameters(blocks) + d_model * d_model + d_model
# --8<-- [end:param_count]


# --8<-- [start:flops]
def training_flops_per_token(n_params: int, n_layers: int, d_model: int, context: int) -> int:
    """Forward: 2N (a multiply and an add per weight) plus 4 L T d for q k^T and weights @ v
    over all T keys; backward costs twice the forward. 6N + 12 L T d (cf. Kaplan et al., 2020)."""
    return 6 * n_params + 12 * n_layers * context * d_model
# --8<-- [end:flops]


# --8<-- [start:schedule]
def noam_lr(step: int, d_model: int, warmup: int, scale: float = 1.0) -> float:
    """lrate = scale * d^-0.5 * min(step^-0.5, step * warmup^-1.5): linear up, then 1/sqrt(step)."""
    if step < 1 or warmup < 1:
        raise ValueError(f"step and warmup count from 1, got step={step}, warmup={warmup}")
    return scale * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
# --8<-- [end:schedule]


# --8<-- [start:linear_decay]
def warmup_linear_lr(step: int, steps: int, d_model: int, warmup: int, scale: float = 1.0) -> float:
    """noam_lr's warm-up and peak, then a straight line down to zero one step after the last."""
    if not 1 <= step <= steps or not 0 < warmup < steps:
        raise ValueError(f"need 1 <= step <= steps and 0 < warmup < steps, got step={step}, "
                         f"warmup={warmup}, steps={steps}")
    if step <= warmup:
        return noam_lr(step, d_model, warmup, scale)
    peak = noam_lr(warmup, d_model, warmup, scale)
    return peak * (steps + 1 - step) / (steps + 1 - warmup)
# --8<-- [end:linear_decay]


# --8<-- [start:label_smoothing]
def label_smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, eps: float,
                                 ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy against q = (1 - eps) * one_hot + eps / V: (N, V), (N,) -> scalar."""
    log_p = F.log_softmax(logits, dim=-1)                        # (N, V)
    keep = target != ignore_index
    log_p, target = log_p[keep], target[keep]
    nll = -log_p.gather(-1, target[:, None]).squeeze(-1)         # -log p(true), (N,)
    uniform = -log_p.mean(dim=-1)                                # average over all V classes
    return ((1 - eps) * nll + eps * uniform).mean()
# --8<-- [end:label_smoothing]


# --8<-- [start:toy_task]
# --8<-- [start:toy_task_data]
PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 3  # digits 0-9 are token ids 3..12


def reverse_batch(n: int, min_len: int, max_len: int,
                  g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random digit strings and their reversals: src (B, T_s), tgt_in (B, T_t), tgt_out (B, T_t).

    tgt_in is BOS + reversed, tgt_out is reversed + EOS (teacher forcing: shift by one).
    """
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=g)
    digits = torch.randint(FIRST_DIGIT, FIRST_DIGIT + 10, (n, max_len), generator=g)
    pos = torch.arange(max_len)
    real = pos[None, :] < lengths[:, None]                          # (B, T_s)
    src = digits.masked_fill(~real, PAD)
    rev_idx = (lengths[:, None] - 1 - pos[None, :]).clamp(min=0)    # position i reads i-th from the end
    rev = src.gather(1, rev_idx).masked_fill(~real, PAD)
    tgt_out = torch.cat([rev, torch.full((n, 1), PAD)], dim=1)
    tgt_out[torch.arange(n), lengths] = EOS
    tgt_in = torch.cat([torch.full((n, 1), BOS), rev], dim=1)
    return src, tgt_in, tgt_out


def is_held_out(src: torch.Tensor) -> torch.Tensor:
    """A fixed tenth of all strings (by a hash of the tokens) is never trained on: (B,) bool."""
    weights = 31 ** torch.arange(src.shape[1]) % 1_000_003              # (T_s,)
    return (src * weights).sum(dim=1) % 1_000_003 % 10 == 0


def exact_match(model: Seq2SeqTransformer, src: torch.Tensor, tgt_out: torch.Tensor) -> float:
    """Fraction of sequences whose greedy output equals the target exactly, EOS included."""
    model.eval()
    pred = model.greedy_decode(src, BOS, EOS, max_new=tgt_out.shape[1])
    width = tgt_out.shape[1]
    pred = F.pad(pred, (0, width - pred.shape[1]), value=PAD)[:, :width]
    return (pred == tgt_out).all(dim=1).float().mean().item()
# --8<-- [end:toy_task_data]


# --8<-- [start:toy_task_train]
def train_reverse(cfg: Seq2SeqConfig, steps: int, batch: int = 64, min_len: int = 3,
                  max_len: int = 10, warmup: int = 200, lr_scale: float = 1.0,
                  smoothing: float = 0.1, seed: int = 0,
                  decay: str = "noam") -> tuple[Seq2SeqTransformer, list[float]]:
    """Adam(0.9, 0.98) with the warm-up schedule and label smoothing, as in the paper.

    decay="linear" keeps the warm-up and its peak but then falls in a straight line to zero at
    the last step, instead of the paper's 1/sqrt(step): the last steps are small, and settle.
    """
    if decay not in ("noam", "linear"):
        raise ValueError(f"decay must be 'noam' or 'linear', got {decay!r}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Seq2SeqTransformer(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    sched = torch.optim.lr_scheduler.LambdaLR(  # LambdaLR counts from 0, the schedules from 1
        opt, (lambda i: noam_lr(i + 1, cfg.d_model, warmup, lr_scale)) if decay == "noam" else
        (lambda i: warmup_linear_lr(min(i + 1, steps), steps, cfg.d_model, warmup, lr_scale)))
    losses = []
    for _ in range(steps):
        model.train()
        src, tgt_in, tgt_out = reverse_batch(batch, min_len, max_len, g)
        train_rows = ~is_held_out(src)
        src, tgt_in, tgt_out = src[train_rows], tgt_in[train_rows], tgt_out[train_rows]
        logits = model(src, tgt_in)                                  # (B, T_t, V)
        loss = label_smoothed_cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), smoothing,
                                            ignore_index=PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model, losses
# --8<-- [end:toy_task_train]
# --8<-- [end:toy_task]
