"""Greedy generation on models of real shape: our GPT against itself without a cache, against
`transformers`' GPT2LMHeadModel.generate on the same weights, and against memory bandwidth.

Two shapes, random weights (nothing is downloaded): GPT-2 small (12 layers, 12 heads, width
768, vocabulary 50,257, context 1,024; 124M parameters) and the chapter-9 model (4 layers,
width 128, 65 characters). Batch 1 and 8, a one-token prompt, 128 new tokens. Every ratio is
the median of interleaved pairs (benchmarks/report.py); every pair is in the JSON file.

The bound: at batch 1 a cached step must read every weight once, so tokens/s cannot exceed
bandwidth / weight bytes. The bandwidth is measured here on the bytes the step reads: one sum
over each of the model's weights, right before each timed run, as many threads as torch uses.
A reduction over a freshly allocated 1 GiB tensor is reported beside it: on this virtual machine
its rate changes from one allocation to the next (with where its pages land), so it bounds other
memory than the weights'. The profile of one cached step shows where the rest goes.
Ours is plain `generate`, which prepares the model for decoding itself
(snippets/layers/weight_layout.py): weights stored input-major, the layout GPT-2's Conv1D uses,
and one-row products split over the threads; two more pairs measure each of the two changes on
the same model, opted out with `decoding_layout = False`.
Writes results/generation.md and .json, which the GPT chapter includes.
"""

import copy
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # random weights only: never ask the Hub for anything

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402

from benchmarks.report import (RESULTS, LoadWatch, interleaved, machine, median_seconds,  # noqa: E402
                               write_markdown)
from snippets.layers.weight_layout import split_row_linear, store_output_major  # noqa: E402
from snippets.models.gpt import GPT, GPTConfig, from_hf_gpt2  # noqa: E402

NEW_TOKENS = 128
PAIRS = 3
PAIRS_GPT2_B1 = 5  # the machine's memory bandwidth drifts: more pairs where the goals are
SHAPES = {
    "GPT-2 small": GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12,
                             d_model=768),
    "chapter 9": GPTConfig(vocab_size=65, context_length=256, n_layers=4, n_heads=4, d_model=128),
}
# recomputing the prefix at batch 8 on GPT-2 small is minutes per run: measured at batch 1 only
RECOMPUTE_BATCHES = {"GPT-2 small": (1,), "chapter 9": (1, 8)}
GOALS = {"cache_vs_recompute_gpt2_b1": 5.0, "vs_transformers_b1": 1.5, "vs_transformers_b8": 1.0,
         "fraction_of_bound_gpt2_b1": 0.6}


def bandwidth_gb_s(gib: int = 1, repeats: int = 7) -> float:
    """Read bandwidth: bytes of a large float32 tensor over the median time to sum it."""
    x = torch.ones(gib * 2**28)
    return x.numel() * 4 / median_seconds(x.sum, repeats) / 1e9


def head_gemv_gb_s(model: GPT, repeats: int = 15) -> dict[str, float]:
    """Effective bandwidth of the head's matrix-vector product, batch 1: (V, C) row-major as
    nn.Linear stores it, (C, V) row-major (input-major, GPT-2's Conv1D layout), and input-major
    split over the threads. At V x C = 154 MB (GPT-2 small) the matrix cannot stay in cache
    between steps, so this is the rate at which a cached step streams weights from memory."""
    W = model.lm_head.weight.detach()
    x = torch.randn(1, W.shape[1])
    out_major, in_major = W.contiguous(), W.t().contiguous().t()
    threads = torch.get_num_threads()
    products = {"(V, C) as nn.Linear stores it": lambda: F.linear(x, out_major),
                "(C, V), input-major": lambda: F.linear(x, in_major),
                "input-major, torch limited to 1 thread": lambda: F.linear(x, in_major),
                f"input-major, split over {threads} threads":
                    lambda: split_row_linear(x, in_major, None, threads)}
    rates = {}
    for name, product in products.items():
        torch.set_num_threads(1 if "1 thread" in name else threads)
        rates[name] = W.numel() * 4 / median_seconds(product, repeats) / 1e9
    torch.set_num_threads(threads)
    return rates


def step_tensors(model: GPT) -> list[torch.Tensor]:
    """What a batch-1 cached step reads whole: every block parameter, the final norm, the head."""
    blocks = [p.detach() for n, p in model.named_parameters() if n.startswith(("blocks", "ln_f"))]
    return blocks + [model.lm_head.weight.detach()]


def weights_bandwidth_gb_s(model: GPT, repeats: int = 5) -> float:
    """Read bandwidth of the step's own bytes: one sum over each of step_tensors (dense, in
    whatever layout they are stored), median of `repeats` passes."""
    tensors = step_tensors(model)
    nbytes = sum(t.numel() * t.element_size() for t in tensors)
    return nbytes / median_seconds(lambda: [t.sum() for t in tensors], repeats) / 1e9


def bound_rounds(run_cached, model: GPT, rounds: int = 3) -> list[dict]:
    """The bandwidths, then one cached run, `rounds` times: each run is judged against the
    bandwidth of its own weights measured just before it (and, for comparison, against a fresh
    1 GiB buffer's), so a slow patch of memory hits both sides."""
    weight_bytes = weight_bytes_per_step(model)
    result = []
    for _ in range(rounds):
        fresh = bandwidth_gb_s(repeats=5)
        own = weights_bandwidth_gb_s(model)
        start = time.perf_counter()
        run_cached()
        tokens_per_s = NEW_TOKENS / (time.perf_counter() - start)
        result.append({"weights_bandwidth_gb_s": own, "bandwidth_gb_s": fresh,
                       "tokens_per_s": tokens_per_s,
                       "fraction": tokens_per_s * weight_bytes / (own * 1e9),
                       "fraction_of_fresh_buffer": tokens_per_s * weight_bytes / (fresh * 1e9)})
    return result


def variants(model: GPT) -> dict[str, GPT]:
    """Copies of a model that has generated (so is prepared), opted out of the decoding layout:
    as nn.Linear stores it, and input-major without the split."""
    plain, in_major = copy.deepcopy(model), copy.deepcopy(model)
    for copied in (plain, in_major):
        copied.decoding_layout = False
        for layer in copied.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.__class__ = torch.nn.Linear
    store_output_major(plain)
    return {"nn.Linear": plain, "input-major": in_major}


def hf_twin(config: GPTConfig):
    """A random transformers GPT-2 of this shape, and our GPT holding the same weights, as a
    reader loads it (its first generate lays the weights out for decoding)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.context_length, n_embd=config.d_model,
        n_layer=config.n_layers, n_head=config.n_heads, activation_function="gelu_new",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)).eval()
    ours = from_hf_gpt2(hf.state_dict(), config).eval()
    return hf, ours


def weight_bytes_per_step(model: GPT) -> int:
    """Bytes a batch-1 cached step reads: every block weight, the final norm, and the head
    (V x C, read whole for the logits); of the embeddings only one row each, ignored."""
    return sum(t.numel() * t.element_size() for t in step_tensors(model))


def profile_cached_step(model: GPT, top: int = 8) -> list[str]:
    """Self CPU time by operator over 16 cached steps at batch 1."""
    from torch.profiler import ProfilerActivity, profile

    prompt = torch.zeros(1, 1, dtype=torch.long)
    with torch.inference_mode():
        caches = model.new_caches(1)
        model.logits(prompt, caches)
        step = prompt
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(16):
                step = model.logits(step, caches)[:, -1].argmax(-1, keepdim=True)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    rows = ["| Operator (16 cached steps, batch 1) | Calls per step | Self CPU per step (ms) | Share |",
            "|---|---:|---:|---:|"]
    for e in events[:top]:
        rows.append(f"| `{e.key}` | {e.count / 16:.0f} | {e.self_cpu_time_total / 16 / 1e3:.2f} "
                    f"| {e.self_cpu_time_total / total:.0%} |")
    rest = total - sum(e.self_cpu_time_total for e in events[:top])
    rows.append(f"| everything else | | {rest / 16 / 1e3:.2f} | {rest / total:.0%} |")
    return rows


def main() -> None:
    torch.set_grad_enabled(False)
    watch = LoadWatch()
    bandwidth = bandwidth_gb_s()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    bandwidth_one_thread = bandwidth_gb_s()
    torch.set_num_threads(threads)
    print(f"bandwidth {bandwidth:.1f} GB/s with {threads} threads, {bandwidth_one_thread:.1f} "
          "with 1", flush=True)
    record: dict = {"bandwidth_gb_s": bandwidth, "bandwidth_one_thread_gb_s": bandwidth_one_thread,
                    "new_tokens": NEW_TOKENS, "shapes": {}}
    rows = ["| Model | Batch | Ours, cache (tok/s) | Ours, recompute (tok/s) | Cache speed-up "
            "| transformers generate (tok/s) | Ours / transformers | Same tokens |",
            "|---|---:|---:|---:|---:|---:|---:|:---:|"]
    bound_line = ""
    profile_rows: list[str] = []
    for name, config in SHAPES.items():
        hf, ours = hf_twin(config)
        shape = record["shapes"][name] = {"parameters": ours.num_parameters(),
                                          "weight_bytes_per_step": weight_bytes_per_step(ours),
                                          "batches": {}}
        for batch in (1, 8):
            prompt = torch.randint(0, config.vocab_size, (batch, 1),
                                   generator=torch.Generator().manual_seed(batch))
            mask = torch.ones_like(prompt)
            outputs = {}

            def cached():
                outputs["ours"] = ours.generate(prompt, NEW_TOKENS, temperature=0.0)

            def recompute():
                outputs["recompute"] = ours.generate(prompt, NEW_TOKENS, temperature=0.0,
                                                     use_cache=False)

            def transformers_generate():
                outputs["hf"] = hf.generate(prompt, attention_mask=mask, max_new_tokens=NEW_TOKENS,
                                            min_new_tokens=NEW_TOKENS, do_sample=False,
                                            eos_token_id=None, pad_token_id=0)

            cached(), transformers_generate()  # warm-up: first-call allocations, lazy imports
            pairs = PAIRS_GPT2_B1 if (name, batch) == ("GPT-2 small", 1) else PAIRS
            vs_hf = interleaved(transformers_generate, cached, pairs)
            entry = {"vs_transformers": vs_hf.as_dict()}
            tok = batch * NEW_TOKENS
            same = torch.equal(outputs["ours"], outputs["hf"])
            cache_tps, hf_tps = tok / vs_hf.median_b, tok / vs_hf.median_a
            recompute_cell = speedup_cell = "not run"
            if batch in RECOMPUTE_BATCHES[name]:
                vs_recompute = interleaved(recompute, cached, pairs)
                entry["vs_recompute"] = vs_recompute.as_dict()
                same = same and torch.equal(outputs["ours"], outputs["recompute"])
                recompute_cell = f"{tok / vs_recompute.median_a:,.1f}"
                speedup_cell = f"**{vs_recompute.ratio:.2f}x**"
            entry |= {"cache_tokens_per_s": cache_tps, "transformers_tokens_per_s": hf_tps,
                      "same_tokens": same}
            shape["batches"][str(batch)] = entry
            rows.append(f"| {name} | {batch} | {cache_tps:,.1f} | {recompute_cell} | {speedup_cell} "
                        f"| {hf_tps:,.1f} | **{vs_hf.ratio:.2f}x** | {'yes' if same else 'NO'} |")
            print(rows[-1], flush=True)
        if name == "GPT-2 small":
            prompt = torch.zeros(1, 1, dtype=torch.long)
            rounds = bound_rounds(lambda: ours.generate(prompt, NEW_TOKENS, temperature=0.0), ours)
            shape["bound_rounds"] = rounds
            shape["fraction_of_bound"] = statistics.median(r["fraction"] for r in rounds)

            def spread(key: str) -> str:
                values = [r[key] for r in rounds]
                return f"median {statistics.median(values):.1f} GB/s ({min(values):.1f} to {max(values):.1f})"
            bound_line = (
                f"Bound at batch 1: a cached step reads {shape['weight_bytes_per_step'] / 1e9:.2f} GB "
                f"of float32 weights, so tokens/s cannot exceed the rate at which those bytes are read, "
                f"divided by their size. Right before each of {len(rounds)} cached runs, one sum over "
                f"each weight read them at {spread('weights_bandwidth_gb_s')}; ours ran at a median "
                f"{statistics.median(r['tokens_per_s'] for r in rounds):.1f} tokens/s, "
                f"**{shape['fraction_of_bound']:.0%} of the bound** (median of the rounds' fractions). "
                f"A sum over a freshly allocated 1 GiB tensor in the same rounds read "
                f"{spread('bandwidth_gb_s')}: against that, "
                f"{statistics.median(r['fraction_of_fresh_buffer'] for r in rounds):.0%}.")
            models = variants(ours) | {"prepared": ours}
            tokens = {}

            def timed(name):
                return lambda: tokens.update({name: models[name].generate(
                    prompt, NEW_TOKENS, temperature=0.0)})

            steps = {"input_major": interleaved(timed("nn.Linear"), timed("input-major"), PAIRS),
                     "split": interleaved(timed("input-major"), timed("prepared"), PAIRS)}
            del models
            same = all(torch.equal(t, tokens["prepared"]) for t in tokens.values())
            shape["layout"] = {k: v.as_dict() for k, v in steps.items()} | {"same_tokens": same}
            bound_line += (
                f" The same model with nn.Linear's own layout runs at "
                f"{NEW_TOKENS / steps['input_major'].median_a:.1f} tokens/s; storing the weights "
                f"input-major is worth **{steps['input_major'].ratio:.2f}x**, and splitting each "
                f"one-row product over the threads another **{steps['split'].ratio:.2f}x** "
                f"(same tokens in all three: {'yes' if same else 'NO'}).")
            profile_rows = profile_cached_step(ours)
            shape["head_gemv_gb_s"] = head_gemv_gb_s(ours)
            profile_rows += ["", "The head's matrix-vector product alone (median of 15), as effective bandwidth: "
                             + "; ".join(f"{k}: {v:.1f} GB/s" for k, v in shape["head_gemv_gb_s"].items())
                             + f" (the reduction: {bandwidth:.1f} GB/s, or "
                             f"{bandwidth_one_thread:.1f} GB/s with torch limited to 1 thread)."]
        del hf, ours
    watch.stop()
    gpt2 = record["shapes"]["GPT-2 small"]
    measured = {
        "cache_vs_recompute_gpt2_b1": gpt2["batches"]["1"]["vs_recompute"]["ratio_median"],
        "vs_transformers_b1": min(s["batches"]["1"]["vs_transformers"]["ratio_median"]
                                  for s in record["shapes"].values()),
        "vs_transformers_b8": min(s["batches"]["8"]["vs_transformers"]["ratio_median"]
                                  for s in record["shapes"].values()),
        "fraction_of_bound_gpt2_b1": gpt2["fraction_of_bound"],
    }
    record |= {"goals": {k: {"measured": measured[k], "goal": GOALS[k], "met": measured[k] >= GOALS[k]}
                         for k in GOALS},
               "load": watch.as_dict(), "machine": machine(), "transformers": transformers.__version__}
    (RESULTS / "generation.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = rows + [
        "",
        f"Greedy, a one-token prompt, {NEW_TOKENS} new tokens; random weights, the same in both "
        f"libraries (our GPT is loaded from the transformers model's state dict). Each ratio is the "
        f"median of {PAIRS} interleaved pairs ({PAIRS_GPT2_B1} for GPT-2 small at batch 1); tokens "
        "per second are from the pairs' median times.",
        "",
        bound_line,
        "",
        *profile_rows,
        "",
        "| Goal | Measured | Goal | Met |",
        "|---|---:|---:|:---:|",
        *(f"| {k.replace('_', ' ')} | {v['measured']:.2f} | {v['goal']:.2f} | "
          f"{'yes' if v['met'] else 'no'} |" for k, v in record["goals"].items()),
        "",
        f"{machine()}. {watch.line()}",
    ]
    write_markdown("generation.md", lines)


if __name__ == "__main__":
    main()
