"""Character-level against byte-level BPE on tiny Shakespeare, compared in bits per character.

The same model (4 layers, 4 heads, width 128, a 64-token context) and the same recipe
(preset shakespeare-fast) are trained on the same 90% of the text,
once on characters and once on BPE tokens whose merges are learned from that 90% only.
Each is scored on the same last 10% of the text: mean loss per token (nats) over 200 fixed
validation batches, converted to bits per character with the split's token and character
counts. Written to results/char_vs_bpe.md, which chapter 9 includes.
"""

import time

import torch

from benchmarks.report import load_average, machine, write_markdown

from snippets.__main__ import PRESETS
from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import (TrainConfig, TrainState, bits_per_character, evaluate,
                               make_optimizer, train)

BPE_VOCAB = 512
EVAL_ITERS = 200


def train_and_score(tokenizer, train_text: str, val_text: str) -> dict:
    model_kw, train_kw = PRESETS["shakespeare-fast"]
    # every step for both: a target in nats per token would stop only the character model early
    config = TrainConfig(**{**train_kw, "target_loss": None})
    train_ids = torch.tensor(tokenizer.encode(train_text))
    val_ids = torch.tensor(tokenizer.encode(val_text))
    state = TrainState.fresh(config.seed)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **model_kw))
    start = time.perf_counter()
    train(model, make_optimizer(model, config), train_ids, val_ids, config, state)
    seconds = time.perf_counter() - start
    T = model.config.context_length
    loss = evaluate(model, val_ids, 12, T, EVAL_ITERS, seed=12345)
    return {"V": tokenizer.vocab_size, "chars_per_token": len(val_text) / len(val_ids),
            "loss": loss, "bpc": bits_per_character(loss, len(val_ids), len(val_text)),
            "window_chars": T * len(val_text) / len(val_ids), "seconds": seconds,
            "parameters": model.num_parameters()}


def main() -> None:
    text = tiny_shakespeare()
    cut = int(len(text) * 0.9)
    train_text, val_text = text[:cut], text[cut:]
    load_before = load_average()
    runs = {"characters": train_and_score(CharTokenizer.train(text), train_text, val_text)}
    print("characters:", runs["characters"], flush=True)
    bpe = ByteLevelBPE.train(train_text, BPE_VOCAB)
    runs[f"byte-level BPE, V = {BPE_VOCAB}"] = train_and_score(bpe, train_text, val_text)
    rows = ["| Tokens | V | Parameters | Characters per token | Characters per 64-token window "
            "| Val loss (nats / token) | Bits per character | Training time (s) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in runs.items():
        rows.append(f"| {name} | {r['V']} | {r['parameters']:,} | {r['chars_per_token']:.2f} "
                    f"| {r['window_chars']:.0f} | {r['loss']:.3f} | **{r['bpc']:.3f}** "
                    f"| {r['seconds']:.1f} |")
    recipe = TrainConfig(**PRESETS["shakespeare-fast"][1])
    rows += ["", f"Same model and recipe (`shakespeare-fast`: batch {recipe.batch_size}, "
             f"all {recipe.max_steps:,} steps, no early stop, of 64 tokens per window, so the BPE model reads more "
             f"characters per step), same 90/10 split of the text by characters; losses over "
             f"{EVAL_ITERS} fixed batches of 12 windows. {machine()}; load average "
             f"{load_before} before the run."]
    write_markdown("char_vs_bpe.md", rows)


if __name__ == "__main__":
    main()
