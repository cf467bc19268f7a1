"""The command line: `python -m snippets train ...` and `python -m snippets generate ...`.

Runs the same under torchrun (DistributedDataParallel) as in one process; see
docs/building_mini_transformer.md.
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from snippets.training import distributed
from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from snippets.training.corpus import CorpusError, tiny_shakespeare
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.text_data import read_text, train_val_split
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

# Model and optimiser settings by name; command-line flags override single fields.
PRESETS: dict[str, tuple[dict, dict]] = {
    # seconds on a laptop: checks that the pipeline works end to end
    "tiny": (dict(context_length=32, n_layers=2, n_heads=2, d_model=32, bias=False,
                  activation="gelu"),
             dict(batch_size=8, max_steps=60, lr=3e-3, min_lr=3e-4, warmup_steps=6,
                  eval_interval=30, eval_iters=4)),
    # the 4-layer character-level Shakespeare recipe nanoGPT publishes for CPUs
    "shakespeare-char": (dict(context_length=64, n_layers=4, n_heads=4, d_model=128, bias=False,
                              activation="gelu"),
                         dict()),
    # our faster recipe on the same model: a larger batch and learning rate, a shorter schedule
    "shakespeare-fast": (dict(context_length=64, n_layers=4, n_heads=4, d_model=128, bias=False,
                              activation="gelu"),
                         dict(batch_size=16, max_steps=1250, lr=4e-3, min_lr=4e-4, warmup_steps=50,
                              eval_interval=50, eval_iters=15)),
}


def check_device(name: str) -> str:
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": torch.backends.mps.is_available()}
    if name not in available:
        raise ValueError(f"unknown device {name!r}; choose one of {sorted(available)}")
    if not available[name]:
        raise ValueError(f"device {name!r} is not available on this machine "
                         f"(available: {[d for d, ok in available.items() if ok]})")
    return name


def load_text(data: str | None) -> str:
    return tiny_shakespeare() if data is None else read_text(data)


def cmd_train(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    rank = distributed.setup(device)
    text = load_text(args.data)
    if args.resume:
        ckpt = load_checkpoint(args.resume, map_location=device)
        tokenizer, model, train_config = ckpt.tokenizer, ckpt.model, ckpt.train_config
        if args.steps:
            train_config = replace(train_config, max_steps=args.steps)
    else:
        model_kw, train_kw = PRESETS[args.preset]
        overrides = {"batch_size": args.batch_size, "max_steps": args.steps, "lr": args.lr,
                     "seed": args.seed}
        merged = {**train_kw, **{k: v for k, v in overrides.items() if v}}
        if args.steps:  # a shorter run keeps its warm-up inside the run
            merged["warmup_steps"] = min(merged.get("warmup_steps", 100), args.steps)
        train_config = TrainConfig(**merged)
        if args.tokenizer == "char":
            tokenizer = CharTokenizer.train(text)
        else:
            tokenizer = ByteLevelBPE.train(text, args.vocab_size)
        state = TrainState.fresh(train_config.seed)  # seeds the initialisation too
        model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **model_kw)).to(device)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_data, val_data = train_val_split(ids, 0.1)
    optimizer = make_optimizer(model, train_config)
    if args.resume:
        state = ckpt.restore(optimizer)
    ddp_model = distributed.wrap(model, rank, device)
    out = Path(args.out)
    if rank.is_main:
        print(f"{model.num_parameters():,} parameters, {tokenizer.vocab_size} tokens, "
              f"{len(train_data):,} train / {len(val_data):,} val tokens, device {device}, "
              f"{rank.world_size} process(es)", file=sys.stderr)
    bar = tqdm(total=train_config.max_steps, initial=state.step, disable=not rank.is_main,
               desc="train", unit="step")

    def on_step(step: int, loss: float, lr: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.1e}")

    def on_eval(row: dict) -> None:
        if rank.is_main:
            bar.write(f"step {row['step']}: train {row['train_loss']:.4f}, val {row['val_loss']:.4f}")
            save_checkpoint(out, model, tokenizer, optimizer, train_config, state)

    train(ddp_model, optimizer, train_data, val_data, train_config, state,
          on_step=on_step, on_eval=on_eval)
    bar.close()
    if rank.is_main:
        save_checkpoint(out, model, tokenizer, optimizer, train_config, state)
        print(f"saved {out} at step {state.step}", file=sys.stderr)
    distributed.teardown()


def cmd_generate(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, map_location=device)
    model = ckpt.model.eval()
    prompt = ckpt.tokenizer.encode(args.prompt)
    if not prompt:
        raise ValueError("the prompt encodes to no tokens; give at least one character")
    generator = torch.Generator(device=device).manual_seed(args.seed)
    idx = torch.tensor([prompt], dtype=torch.long, device=device)
    out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, generator=generator, use_cache=not args.no_cache)
    print(ckpt.tokenizer.decode(out[0].tolist()))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m snippets", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a GPT on a text file (default: tiny Shakespeare)")
    t.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    t.add_argument("--data", help="any UTF-8 text file; default tiny Shakespeare from the cache")
    t.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    t.add_argument("--vocab-size", type=int, default=512, help="BPE vocabulary size")
    t.add_argument("--steps", type=int, help="total optimiser steps (overrides the preset)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float, help="peak learning rate")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    t.add_argument("--resume", help="continue from this checkpoint")
    t.add_argument("--out", default="out/ckpt.pt", help="checkpoint path")
    t.set_defaults(func=cmd_train)
    g = sub.add_parser("generate", help="sample text from a checkpoint")
    g.add_argument("--checkpoint", default="out/ckpt.pt")
    g.add_argument("--prompt", default="\n")
    g.add_argument("--max-new-tokens", type=int, default=300)
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    g.add_argument("--no-cache", action="store_true", help="recompute the prefix every step")
    g.set_defaults(func=cmd_generate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, CorpusError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
