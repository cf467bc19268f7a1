"""Train the small encoder-decoder to reverse digit strings (lengths 3-10) on the CPU and
print its exact-match accuracy on held-out strings, with the training time."""

import time

import torch

from snippets.models.seq2seq import Seq2SeqConfig, count_parameters, exact_match, is_held_out, reverse_batch, train_reverse


def main() -> None:
    cfg = Seq2SeqConfig()
    start = time.perf_counter()
    model, losses = train_reverse(cfg, steps=1200, batch=64, min_len=3, max_len=10, warmup=200)
    seconds = time.perf_counter() - start
    src, _, tgt_out = reverse_batch(10_000, 3, 10, torch.Generator().manual_seed(123))
    held = is_held_out(src)  # strings the training loop never saw
    accuracy = exact_match(model, src[held], tgt_out[held])
    print(f"parameters: {count_parameters(model):,}")
    print(f"steps: 1200 x 64 sequences, final loss {losses[-1]:.3f} (label smoothing 0.1)")
    print(f"training time: {seconds:.1f} s on {torch.get_num_threads()} CPU threads")
    print(f"held-out exact match: {accuracy:.4f} on {int(held.sum())} sequences")


if __name__ == "__main__":
    main()
