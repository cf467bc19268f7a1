"""A GRU encoder-decoder, with the fixed-vector bottleneck (Cho et al., 2014, arXiv:1406.1078;
Sutskever, Vinyals & Le, 2014, arXiv:1409.3215) or with additive attention over the encoder's
states (Bahdanau, Cho & Bengio, 2014, arXiv:1409.0473), trained on digit-string reversal.

Both variants have the same encoder, decoder cell and output layer; they differ only in the
context vector c_i fed to decoder step i: one vector for the whole source, or an
attention-weighted mix of the source annotations recomputed at every step.

Shape legend: B batch, T_s source length, T_t target length, C embedding width,
H hidden width, V vocabulary.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.attention import AdditiveAttention
from snippets.layers.recurrent import GRUCell, Recurrent
from snippets.models.seq2seq import BOS, is_held_out, reverse_batch
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class RecurrentSeq2SeqConfig:
    vocab_size: int = 13      # PAD, BOS, EOS and the digits 0-9, as in the Transformer chapter
    d_embed: int = 32         # C
    hidden: int = 64          # H, per direction in the encoder, and the decoder's width
    attention: bool = True    # False: one context vector for the whole source (the bottleneck)
    bidirectional: bool = True  # False: a forward-only encoder (a control for the benchmark)
    impl: str = "ours"        # "torch": nn.GRU / nn.GRUCell (fused kernels, proven equal to ours)

    def __post_init__(self) -> None:
        if self.impl not in ("ours", "torch"):
            raise ValueError(f"impl must be 'ours' or 'torch', got {self.impl!r}")
# --8<-- [end:config]


# --8<-- [start:model]
class RecurrentSeq2Seq(nn.Module):
    def __init__(self, cfg: RecurrentSeq2SeqConfig):
        super().__init__()
        C, H, V = cfg.d_embed, cfg.hidden, cfg.vocab_size
        A = 2 * H if cfg.bidirectional else H                       # width of an annotation
        self.cfg = cfg
        self.embed = nn.Embedding(V, C)
        if cfg.impl == "ours":
            self.encoder = Recurrent("gru", C, H, bidirectional=cfg.bidirectional)  # (B, T_s, A)
        else:
            self.encoder = nn.GRU(C, H, bidirectional=cfg.bidirectional, batch_first=True)
        self.bridge = nn.Linear(A, H)                               # s_0 = tanh(W [h_fwd; h_bwd])
        self.summary = nn.Linear(A, A)                              # the fixed context (no attention)
        self.attention = AdditiveAttention(d_q=H, d_k=A, d_hidden=H) if cfg.attention else None
        cell = GRUCell if cfg.impl == "ours" else nn.GRUCell
        self.decoder = cell(C + A, H)                               # reads [y_{i-1}; c_i]
        self.out = nn.Linear(H + A, V)                              # reads [s_i; c_i]

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """src (B, T_s) -> annotations (B, T_s, A), s_0 (B, H), fixed context (B, A)."""
        annotations, h_n = self.encoder(self.embed(src))            # h_n (directions, B, H)
        last = torch.cat(list(h_n), dim=-1)                         # every direction's final state
        return annotations, torch.tanh(self.bridge(last)), torch.tanh(self.summary(last))

    def step(self, y_prev: torch.Tensor, s: torch.Tensor, annotations: torch.Tensor,
             fixed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One decoder step: y_prev (B,), s_{i-1} (B, H) -> logits (B, V), s_i, weights (B, T_s)."""
        if self.attention is None:
            context, weights = fixed, None                          # the same c at every step
        else:  # Bahdanau: score every annotation against the previous decoder state s_{i-1}
            context, weights = self.attention(s.unsqueeze(1), annotations, annotations)
            context, weights = context.squeeze(1), weights.squeeze(1)  # (B, A), (B, T_s)
        s = self.decoder(torch.cat([self.embed(y_prev), context], dim=-1), s)
        return self.out(torch.cat([s, context], dim=-1)), s, weights

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: decoder step i reads the true token i-1. -> logits (B, T_t, V)."""
        annotations, s, fixed = self.encode(src)
        logits = []
        for i in range(tgt_in.shape[1]):
            step_logits, s, _ = self.step(tgt_in[:, i], s, annotations, fixed)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Feed back its own argmax: ids (B, steps) and attention weights (B, steps, T_s)."""
        annotations, s, fixed = self.encode(src)
        y = torch.full((src.shape[0],), BOS, dtype=torch.long)
        ids, weights = [], []
        for _ in range(steps):
            step_logits, s, w = self.step(y, s, annotations, fixed)
            y = step_logits.argmax(-1)
            ids.append(y)
            weights.append(w)
        return torch.stack(ids, 1), None if self.attention is None else torch.stack(weights, 1)
# --8<-- [end:model]


# --8<-- [start:train]
# --8<-- [start:train_loop]
def train_reverse_rnn(cfg: RecurrentSeq2SeqConfig, steps: int, batch: int = 64,
                      min_len: int = 5, max_len: int = 30, lr: float = 3e-3, clip: float = 1.0,
                      seed: int = 0, dtype: torch.dtype = torch.float32,
                      on_step=None) -> RecurrentSeq2Seq:
    """Adam, learning rate decayed linearly to lr/10, gradient clipping by global norm.
    Each batch has one random length, so it needs no padding (a bidirectional encoder
    would otherwise read PADs first)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = RecurrentSeq2Seq(cfg).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - 0.9 * i / steps)
    for step in range(steps):
        model.train()
        length = int(torch.randint(min_len, max_len + 1, (), generator=g))
        src, tgt_in, tgt_out = reverse_batch(batch, length, length, g)
        keep = ~is_held_out(src)                  # a fixed tenth of all strings is for testing
        src, tgt_in, tgt_out = src[keep], tgt_in[keep], tgt_out[keep]
        loss = F.cross_entropy(model(src, tgt_in).flatten(0, 1), tgt_out.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        decay.step()
        if on_step is not None:
            on_step(step + 1, loss.item(), model)
    return model
# --8<-- [end:train_loop]


# --8<-- [start:train_eval]
def _correct(model: RecurrentSeq2Seq, length: int, n: int, seed: int,
             teacher_forced: bool) -> torch.Tensor:
    """(n, T_t) booleans, output token right or not, on n held-out strings (EOS included)."""
    model.eval()
    src, tgt_in, tgt_out = reverse_batch(20 * n, length, length,
                                         torch.Generator().manual_seed(seed))
    held = is_held_out(src)
    src, tgt_in, tgt_out = src[held][:n], tgt_in[held][:n], tgt_out[held][:n]
    if teacher_forced:                        # every step reads the true previous token
        pred = model(src, tgt_in).argmax(-1)
    else:                                     # every step reads the model's own previous token
        pred, _ = model.greedy(src, tgt_out.shape[1])
    return pred == tgt_out


@torch.no_grad()
def reverse_accuracy(model: RecurrentSeq2Seq, length: int, n: int = 200, seed: int = 1,
                     teacher_forced: bool = False) -> tuple[float, float]:
    """(exact-sequence accuracy, per-token accuracy) of greedy decoding, EOS included,
    on n strings from the held-out tenth that training never sees."""
    correct = _correct(model, length, n, seed, teacher_forced)
    return correct.all(dim=1).float().mean().item(), correct.float().mean().item()


@torch.no_grad()
def position_accuracy(model: RecurrentSeq2Seq, length: int, n: int = 200, seed: int = 1,
                      teacher_forced: bool = False) -> list[float]:
    """Accuracy of each output position (the reversed digits, then EOS) on the same strings
    as reverse_accuracy."""
    return _correct(model, length, n, seed, teacher_forced).float().mean(dim=0).tolist()
# --8<-- [end:train_eval]
# --8<-- [end:train]
