"""The command line: `python -m snippets train ...`, `generate ...` and `prepare ...`.

Runs the same under torchrun (DistributedDataParallel) as in one process; see
docs/building_mini_transformer.md.
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from snippets.training import distributed
from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.training.checkpoint import (MODELS, CheckpointError, load_checkpoint, save_checkpoint,
                                          tokenizer_from_dict)
from snippets.training.corpus import CorpusError, tiny_shakespeare
from snippets.models.sampling import check_sampling_args
from snippets.training.text_data import get_batch, read_text, train_val_split
from snippets.training.token_file import TokenFile, write_token_file
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train
from snippets.training.accounting import (flops_per_token, matmul_peak, mfu,
                                          training_memory)
from snippets.training.activation_checkpointing import checkpoint_blocks
from snippets.training.precision import check_precision

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
    # our faster recipe on the same model: Muon for the blocks' matrices, a larger batch and
    # learning rate, a shorter schedule, stopped at the first evaluation at or below the target
    "shakespeare-fast": (dict(context_length=64, n_layers=4, n_heads=4, d_model=128, bias=False,
                              activation="gelu"),
                         dict(batch_size=24, max_steps=350, lr=8e-3, min_lr=8e-4, warmup_steps=50,
                              eval_interval=50, eval_iters=15, target_loss=1.88, optimizer="muon")),
    # an AdamW recipe (batch 16, peak 4e-3, 1,250 steps) on a Llama-style model of about the
    # same size: RMSNorm, SwiGLU, RoPE, 2 key/value heads for 4 query heads, no biases, untied
    # head (docs/gpt_family/llama-block.md)
    "llama-shakespeare": (dict(context_length=64, n_layers=4, n_heads=4, n_kv_heads=2, d_model=128,
                               d_ff=384),
                          dict(batch_size=16, max_steps=1250, lr=4e-3, min_lr=4e-4, warmup_steps=50,
                               eval_interval=50, eval_iters=15, target_loss=1.88)),
}
# The model family of the presets that do not build a GPT (see checkpoint.MODELS).
PRESET_FAMILY = {"llama-shakespeare": "llama"}


MAX_BATCH_SIZE = 1 << 16  # far above what a CPU or one GPU can hold for these models
DEFAULTS = {"preset": "tiny", "tokenizer": "char", "vocab_size": 512}


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


def train_tokenizer(args: argparse.Namespace, text: str) -> CharTokenizer | ByteLevelBPE:
    if (args.tokenizer or DEFAULTS["tokenizer"]) == "char":
        return CharTokenizer.train(text)
    vocab_size = DEFAULTS["vocab_size"] if args.vocab_size is None else args.vocab_size
    return ByteLevelBPE.train(text, vocab_size)


def cmd_prepare(args: argparse.Namespace) -> None:
    """Tokenise once and write the ids to a file that `train --tokens` memory-maps."""
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file path such as {out / 'train.tokens'}")
    text = load_text(args.data)
    tokenizer = train_tokenizer(args, text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    write_token_file(out, ids, tokenizer.to_dict())
    print(f"wrote {len(ids):,} tokens ({tokenizer.vocab_size} in the vocabulary, "
          f"{out.stat().st_size:,} bytes) to {out}", file=sys.stderr)


def check_writable(out: Path) -> None:
    """Refuse an --out that cannot take a checkpoint now, not after the training has run."""
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file path such as {out / 'ckpt.pt'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.probe"):
            pass
    except OSError as error:
        raise ValueError(f"--out {out} is not writable: {error.strerror or error}") from None


def resume_config(args: argparse.Namespace, ckpt) -> TrainConfig:
    """The saved run's settings, continued to their total. A resumed run is the same run: a
    flag that would change it (another learning rate, batch, model, tokenizer or total) is
    refused. --target-loss only says where to stop, so it may change."""
    saved = ckpt.train_config
    if saved is None:
        raise ValueError(f"{args.resume} has no training settings: it cannot resume")
    conflicts = []
    for flag, value, kept in (("--lr", args.lr, saved.lr), ("--batch-size", args.batch_size,
                              saved.batch_size), ("--seed", args.seed, saved.seed),
                              ("--grad-accum", args.grad_accum, saved.grad_accum),
                              ("--dtype", args.dtype, saved.dtype),
                              ("--optimizer", args.optimizer, saved.optimizer)):
        if value is not None and value != kept:
            conflicts.append(f"{flag} {value} (the checkpoint's is {kept})")
    if args.preset is not None:
        model_kw, _ = PRESETS[args.preset]
        differ = {k: v for k, v in model_kw.items() if getattr(ckpt.model.config, k) != v}
        if differ:
            conflicts.append(f"--preset {args.preset} (its {differ} differ from the checkpoint's model)")
    kind = ckpt.tokenizer.to_dict()["type"]
    if args.tokenizer is not None and args.tokenizer != kind:
        conflicts.append(f"--tokenizer {args.tokenizer} (the checkpoint's is {kind})")
    if args.vocab_size is not None and args.vocab_size != ckpt.tokenizer.vocab_size:
        conflicts.append(f"--vocab-size {args.vocab_size} (the checkpoint's is "
                         f"{ckpt.tokenizer.vocab_size})")
    if conflicts:
        raise ValueError(f"--resume continues the saved run unchanged; these flags would change "
                         f"it: {'; '.join(conflicts)}. Drop them, or start a new run")
    step = int(ckpt.payload.get("step", 0))
    if args.steps is not None and args.steps <= step:
        raise ValueError(f"the checkpoint is at step {step}; --steps {args.steps} leaves nothing "
                         f"to train: give a total above {step}")
    if args.steps is not None and args.steps != saved.max_steps:
        # the cosine is laid over the total: another total moves every later learning rate
        raise ValueError(f"--steps {args.steps} would lay the cosine schedule over "
                         f"{args.steps} steps instead of the checkpoint's {saved.max_steps}, and "
                         f"the learning rate would jump at step {step}; resume without --steps, "
                         f"or start a new run with --steps {args.steps}")
    if step >= saved.max_steps:
        raise ValueError(f"the checkpoint's run is complete ({step} of {saved.max_steps} steps); "
                         f"to train longer, start a new run with a larger --steps")
    if args.target_loss is not None:
        return replace(saved, target_loss=args.target_loss)
    return saved


def fresh_config(args: argparse.Namespace) -> TrainConfig:
    _, train_kw = PRESETS[args.preset or DEFAULTS["preset"]]
    merged = dict(train_kw)
    # `is not None`: 0 is a value (--seed 0), never "unset"
    for key, value in (("batch_size", args.batch_size), ("max_steps", args.steps),
                       ("lr", args.lr), ("seed", args.seed), ("target_loss", args.target_loss),
                       ("grad_accum", args.grad_accum), ("dtype", args.dtype),
                       ("optimizer", args.optimizer)):
        if value is not None:
            merged[key] = value
    if args.lr is not None:  # the floor of the cosine follows the peak (every preset: peak / 10)
        merged["min_lr"] = args.lr / 10
    if args.steps is not None:  # a shorter run keeps its warm-up inside the run
        merged["warmup_steps"] = min(merged.get("warmup_steps", 100), args.steps)
    return TrainConfig(**merged)


def cmd_train(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    out = Path(args.out)
    check_writable(out)  # everything that can be checked is checked before the long work
    if args.tokens is not None and (args.tokenizer is not None or args.vocab_size is not None):
        raise ValueError("--tokens brings its own tokenizer; --tokenizer and --vocab-size "
                         "belong to `prepare`")
    tokens = None if args.tokens is None else TokenFile.open(args.tokens)
    if args.resume:  # on the CPU first: under torchrun the rank's GPU is chosen by setup()
        ckpt = load_checkpoint(args.resume, map_location="cpu")
        if tokens is not None and tokens.tokenizer != ckpt.tokenizer.to_dict():
            raise ValueError(f"--tokens {args.tokens} was written with another tokenizer than "
                             f"the checkpoint's: its ids would mean other tokens")
        train_config = resume_config(args, ckpt)
    else:
        train_config = fresh_config(args)
    dtype = check_precision(train_config.dtype, device)
    if args.fsdp and train_config.optimizer == "muon":
        raise ValueError("--optimizer muon orthogonalises each whole matrix, and --fsdp gives each "
                         "process a shard of it: train with muon without --fsdp, or shard with adamw")
    if args.compile:
        check_compiler(device)
    rank = distributed.setup(device)
    if tokens is None:
        text = load_text(args.data)
    if args.resume:
        tokenizer, model = ckpt.tokenizer, ckpt.model.to(device)
    else:
        tokenizer = (train_tokenizer(args, text) if tokens is None
                     else tokenizer_from_dict(tokens.tokenizer))
        model_kw, _ = PRESETS[args.preset or DEFAULTS["preset"]]
        state = TrainState.fresh(train_config.seed)  # seeds the initialisation too
        model_class, config_class = MODELS[PRESET_FAMILY.get(args.preset, "gpt")]
        model = model_class(config_class(vocab_size=tokenizer.vocab_size, **model_kw)).to(device)
    ids = tokens if tokens is not None else torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_data, val_data = train_val_split(ids, 0.1)
    T = model.config.context_length
    for name, part in (("training", train_data), ("validation", val_data)):
        if len(part) < T + 1:
            raise ValueError(f"the {name} split has {len(part):,} tokens, fewer than one window "
                             f"of context_length + 1 = {T + 1} ({len(ids):,} tokens in all, 10% "
                             f"for validation): give more text")
    windows = len(train_data) - T
    per_step = train_config.batch_size * train_config.grad_accum
    if per_step > windows:
        accum = "" if train_config.grad_accum == 1 else \
            f" x {train_config.grad_accum} micro-batches = {per_step:,} windows a step"
        raise ValueError(f"batch size {train_config.batch_size:,}{accum} exceeds the {windows:,} "
                         f"distinct windows of the training split; use at most {windows:,}")
    if args.checkpoint_activations:
        checkpoint_blocks(model)
    if rank.is_main:  # before sharding: a sharded forward needs every rank
        print(f"{model.num_parameters():,} parameters, {tokenizer.vocab_size} tokens, "
              f"{len(train_data):,} train / {len(val_data):,} val tokens, device {device}, "
              f"{rank.world_size} process(es){', sharded' if args.fsdp else ''}", file=sys.stderr)
        micro = get_batch(train_data, train_config.batch_size // rank.world_size, T,
                          torch.Generator().manual_seed(0))
        print_accounting(model, dtype, *(t.to(device) for t in micro),
                         optimizer=train_config.optimizer)
    ddp_model = distributed.wrap(model, rank, device, shard=args.fsdp)
    optimizer = make_optimizer(model, train_config)  # after sharding: on each rank's shards
    if args.resume:
        state = ckpt.restore(lambda saved: distributed.load_full_optimizer_state(model, optimizer, saved))
    if args.compile:
        ddp_model = torch.compile(ddp_model)
    bar = tqdm(total=train_config.max_steps, initial=state.step, disable=not rank.is_main,
               desc="train", unit="step")

    clock = {"steps": [], "evals": {}}  # step end times; seconds of evaluation and saving

    def on_step(step: int, loss: float, lr: float) -> None:
        clock["steps"].append(time.perf_counter())
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.1e}")

    def save() -> None:  # sharded, gathering the whole state is a collective: every rank calls it
        weights, optimizer_state = distributed.full_state(model, optimizer)
        if rank.is_main:
            save_checkpoint(out, model, tokenizer, train_config=train_config, state=state,
                            weights=weights, optimizer_state=optimizer_state)

    def on_eval(row: dict) -> None:
        if rank.is_main:
            bar.write(f"step {row['step']}: train {row['train_loss']:.4f}, val {row['val_loss']:.4f}")
        save()
        clock["evals"][row["step"]] = time.perf_counter() - row["time"]

    try:  # a diverged run stops here, before its NaN can reach a checkpoint
        train(ddp_model, optimizer, train_data, val_data, train_config, state,
              on_step=on_step, on_eval=on_eval)
    finally:
        bar.close()
    if rank.is_main:
        paused = sum(s for step, s in clock["evals"].items() if step < state.step)
        print_utilisation(model, train_config, dtype, device, clock["steps"], paused,
                          rank.world_size)
    save()
    if rank.is_main:
        reached = "" if state.step == train_config.max_steps else \
            f" (validation loss reached the target {train_config.target_loss})"
        print(f"saved {out} at step {state.step}{reached}", file=sys.stderr)


def check_compiler(device: str) -> None:
    """torch.compile generates C++ on a CPU: refuse --compile now if there is no compiler."""
    compiler = os.environ.get("CXX", "g++")
    if torch.device(device).type == "cpu" and shutil.which(compiler) is None:
        raise ValueError(f"--compile on a CPU needs a C++ compiler; {compiler!r} is not on PATH "
                         f"(install g++ or set CXX)")


def model_flops_per_token(model: torch.nn.Module, attention: bool = True) -> int:
    """Kaplan's 6N (+ 6 L T C) for either model family, N counted on the model itself."""
    return flops_per_token(model.config, attention, n=model.num_parameters(non_embedding=True))


def print_accounting(model: torch.nn.Module, dtype: torch.dtype, x: torch.Tensor, y: torch.Tensor,
                     optimizer: str = "adamw") -> None:
    """FLOPs per token and the bytes of one step, before the run (snippets.training.accounting)."""
    memory = training_memory(model, x, y, dtype, optimizer)
    label = {"adamw": "AdamW", "muon": "Muon + AdamW"}[optimizer]
    mib = lambda n: f"{n / 2**20:,.1f} MiB"  # noqa: E731
    print(f"FLOPs per token: {model_flops_per_token(model):,} "
          f"({model_flops_per_token(model, attention=False):,} without attention); memory: "
          f"parameters {mib(memory.parameters)}, gradients {mib(memory.gradients)}, {label} "
          f"{mib(memory.optimizer)}, activations {mib(memory.activations)} (micro-batch "
          f"{len(x)}), total {mib(memory.total)}", file=sys.stderr)


def print_utilisation(model: torch.nn.Module, config: TrainConfig, dtype: torch.dtype, device: str,
                      step_ends: list[float], paused: float, world_size: int) -> None:
    """Tokens per second and MFU over the steps after the first (which may compile), the
    evaluations and saves between them not counted; MFU per process, against one device."""
    if len(step_ends) < 2:
        return
    seconds = step_ends[-1] - step_ends[0] - paused
    tokens = (len(step_ends) - 1) * config.batch_size * config.grad_accum \
        * model.config.context_length
    peak = matmul_peak(device, dtype)
    rate = tokens / seconds
    per_device = rate / world_size
    per_token = model_flops_per_token(model)
    print(f"{rate:,.0f} tokens/s, {per_device * per_token / 1e9:,.2f} GFLOP/s per process: "
          f"MFU {mfu(per_token, per_device, peak):.1%} of this machine's measured "
          f"{str(dtype).removeprefix('torch.')} matmul peak of {peak / 1e9:,.1f} GFLOP/s",
          file=sys.stderr)


def default_prompt(tokenizer) -> str:
    """A newline (the start of a line) when the vocabulary has one, else its first token."""
    try:
        tokenizer.encode("\n")
        return "\n"
    except ValueError:
        prompt = tokenizer.decode([0])
        print(f"note: the vocabulary has no newline; starting from {prompt!r} "
              "(give --prompt to choose)", file=sys.stderr)
        return prompt


def cmd_generate(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    # the sampling settings are checked before the checkpoint is read
    check_sampling_args(args.temperature, args.top_k, args.top_p)
    ckpt = load_checkpoint(args.checkpoint, map_location=device)
    model = ckpt.model.eval()
    text = default_prompt(ckpt.tokenizer) if args.prompt is None else args.prompt
    prompt = ckpt.tokenizer.encode(text)
    if not prompt:
        raise ValueError("the prompt encodes to no tokens; give at least one character")
    generator = torch.Generator(device=device).manual_seed(args.seed)
    idx = torch.tensor([prompt], dtype=torch.long, device=device)
    out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                         top_p=args.top_p, generator=generator, use_cache=not args.no_cache)
    print(ckpt.tokenizer.decode(out[0].tolist()))


def _number(kind: type, low: float, high: float | None = None):
    """An argparse type: a finite number of `kind` in [low, high]."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"in [{low}, {high:,}]"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


def _positive_float(text: str) -> float:
    value = _number(float, 0.0)(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block: `error: ...`
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m snippets", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a GPT (or, with --preset llama-shakespeare, a "
                                     "Llama-style model) on a text file (default: tiny Shakespeare)")
    t.add_argument("--preset", choices=sorted(PRESETS), help="model and recipe (default: tiny)")
    data = t.add_mutually_exclusive_group()
    data.add_argument("--data", help="any UTF-8 text file; default tiny Shakespeare from the cache")
    data.add_argument("--tokens", help="a token file from `prepare`: its tokenizer, its ids read "
                                       "from disk (memory-mapped) instead of held in memory")
    t.add_argument("--tokenizer", choices=["char", "bpe"], help="default: char")
    t.add_argument("--vocab-size", type=_number(int, 256), help="BPE vocabulary size (default 512)")
    t.add_argument("--steps", type=_number(int, 1), help="total optimiser steps (overrides the preset)")
    t.add_argument("--batch-size", type=_number(int, 1, MAX_BATCH_SIZE))
    t.add_argument("--lr", type=_positive_float, help="peak learning rate")
    t.add_argument("--seed", type=_number(int, 0, 2**63 - 1), help="default: the preset's (1337)")
    t.add_argument("--target-loss", type=_positive_float,
                   help="stop at the first evaluation with a validation loss at or below this "
                        "(default: the preset's; shakespeare-fast stops at 1.88)")
    t.add_argument("--grad-accum", type=_number(int, 1, MAX_BATCH_SIZE),
                   help="micro-batches of --batch-size per optimiser step (default 1)")
    t.add_argument("--dtype", choices=["float32", "bfloat16", "float16"],
                   help="autocast dtype of the forward pass (default float32; float16 needs "
                        "CUDA); weights and optimiser state stay float32")
    t.add_argument("--optimizer", choices=["adamw", "muon"],
                   help="adamw, or muon for the blocks' matrices and AdamW for the rest "
                        "(default: the preset's; shakespeare-fast uses muon)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--checkpoint-activations", action="store_true",
                   help="recompute each block's activations in the backward to save memory")
    t.add_argument("--fsdp", action="store_true",
                   help="under torchrun, shard parameters, gradients and optimiser state over the "
                        "processes (torch's fully_shard) instead of replicating them (DDP)")
    t.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    t.add_argument("--resume", help="continue this checkpoint's run, with its settings, to its "
                                    "total number of steps")
    t.add_argument("--out", default="out/ckpt.pt", help="checkpoint path")
    t.set_defaults(func=cmd_train)
    g = sub.add_parser("generate", help="sample text from a checkpoint")
    g.add_argument("--checkpoint", default="out/ckpt.pt")
    g.add_argument("--prompt", help="default: a newline, if the vocabulary has one")
    g.add_argument("--max-new-tokens", type=_number(int, 0), default=300)
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--seed", type=_number(int, 0, 2**63 - 1), default=0)
    g.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    g.add_argument("--no-cache", action="store_true", help="recompute the prefix every step")
    g.set_defaults(func=cmd_generate)
    r = sub.add_parser("prepare", help="tokenise a text file once into a token file for "
                                       "`train --tokens` (ids memory-mapped, not held in memory)")
    r.add_argument("--data", help="any UTF-8 text file; default tiny Shakespeare from the cache")
    r.add_argument("--tokenizer", choices=["char", "bpe"], help="default: char")
    r.add_argument("--vocab-size", type=_number(int, 256), help="BPE vocabulary size (default 512)")
    r.add_argument("--out", default="out/train.tokens", help="token file path")
    r.set_defaults(func=cmd_prepare)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, CorpusError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    distributed.teardown()  # under torchrun: once the run's objects are out of scope
    return 0


if __name__ == "__main__":
    sys.exit(main())
