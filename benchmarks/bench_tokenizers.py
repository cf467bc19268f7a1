"""Our byte-level BPE against the textbook trainer and against `tokenizers` (Rust), on tiny Shakespeare.

Prints three ratios measured in one run: fast/naive trainer speed-up (on a slice, since the naive
trainer needs minutes on the whole corpus), our trainer's time over `tokenizers`' with the same
GPT-2 pre-tokenization, and encoding throughput (MB/s) of ours and of `tokenizers` with our merges.
"""

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from snippets.tokenizers.bpe import ByteLevelBPE, train_fast, train_naive
from snippets.training.corpus import tiny_shakespeare

RESULTS = Path(__file__).resolve().parent.parent / "results" / "tokenizers.txt"

VOCAB = 512
SLICE = 100_000  # characters the naive trainer sees


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def hf_trained(text: str) -> Tokenizer:
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return hf


def main() -> None:
    text = tiny_shakespeare()
    n_bytes = len(text.encode("utf-8"))
    part = text[:SLICE]

    lines_out: list[str] = []

    def report(line: str) -> None:  # printed now, and written for the page to include
        print(line, flush=True)
        lines_out.append(line)

    naive, t_naive = timed(lambda: train_naive(part, VOCAB))
    fast_part, t_fast_part = timed(lambda: train_fast(part, VOCAB))
    report(f"trainer, first {SLICE:,} chars, vocab {VOCAB}: naive {t_naive:.2f} s, fast {t_fast_part:.3f} s, "
          f"speed-up {t_naive / t_fast_part:.1f}x, identical merges: {naive == fast_part}")

    merges, t_fast = timed(lambda: train_fast(text, VOCAB))
    _, t_hf = timed(lambda: hf_trained(text))
    report(f"trainer, whole corpus ({n_bytes / 1e6:.2f} MB), vocab {VOCAB}: ours {t_fast:.2f} s, "
          f"tokenizers {t_hf:.2f} s, ours/tokenizers {t_fast / t_hf:.1f}x")

    ours = ByteLevelBPE.from_merges(merges, "gpt2")  # a fresh, empty pre-token cache
    vocab, hf_merges = ours.to_hf()
    hf = Tokenizer(models.BPE(vocab=vocab, merges=hf_merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    ids, t_ours = timed(lambda: ours.encode(text))
    # one 1 MB string is a pathological input for `tokenizers` (offsets for one huge sequence):
    # give it the lines as a batch, which is how it is used, and concatenate the ids
    lines = text.splitlines(keepends=True)
    hf_ids, t_hf_enc = timed(lambda: [i for e in hf.encode_batch(lines) for i in e.ids])
    report(f"encoding the corpus: ours {n_bytes / t_ours / 1e6:.2f} MB/s, tokenizers {n_bytes / t_hf_enc / 1e6:.2f} MB/s, "
          f"tokenizers/ours {t_ours / t_hf_enc:.1f}x, same ids: {ids == hf_ids}, "
          f"{n_bytes / len(ids):.2f} bytes/token")
    report(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
           f"load average {os.getloadavg()[0]:.1f} at the end of the run")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines_out) + "\n", encoding="utf-8")
