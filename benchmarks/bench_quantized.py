"""Weight-only int8 and int4 decoding, and an int8 KV cache: speed on GPT-2 small's shape, quality
on a model trained here.

Speed: a random GPT-2-small-shaped model (124M parameters, nothing downloaded), greedy, batch 1,
a one-token prompt, 128 new tokens: float32 (plain generate, which lays its weights out for
decoding), int8 per output row (weight-only, activations in bfloat16; and with int8
activations too), int4 in groups of 128 (snippets/inference/quantized.py). Each ratio is the
median of interleaved pairs. The bound for each: tokens/s cannot exceed the bandwidth (measured
right before) over the weight bytes a step reads, integers plus scales.

Quality: the character model that the speculative-decoding benchmark trains on tiny Shakespeare
as its target (trained here if the cache does not hold it), its held-out loss in nats per
character with each quantisation, the int8 KV cache, and both; int4 in groups of 64 and of 32.
Writes results/quantized.json and .md.
"""

import copy
import json
import statistics
import time

import torch

from benchmarks.bench_generation import bandwidth_gb_s
from benchmarks.bench_speculative import CONTEXT, TARGET, trained
from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, median_seconds, write_markdown
from snippets.inference.quantized import Int4Linear, Int8KVCache, Int8Linear, quantize_linears
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare

NEW_TOKENS, PAIRS = 128, 5
GPT2_SMALL = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)
GOAL_INT8 = 1.5


def step_bytes(model: GPT) -> int:
    """Bytes a batch-1 cached step reads: every block's and the head's weights and biases, the
    quantised layers' integers and scales, the final norm; of the embeddings one row, ignored."""
    total = 0
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if name.startswith(("blocks", "ln_f", "lm_head")):
            total += t.numel() * t.element_size()
    if not any(n.startswith("lm_head") for n, _ in model.named_buffers()):  # a float, tied head
        total += model.lm_head.weight.numel() * model.lm_head.weight.element_size()
    return total


def val_loss(model: GPT, data: torch.Tensor, int8_cache: bool = False, windows: int = 64) -> float:
    """Mean held-out loss over `windows` windows of CONTEXT characters, through the cached path
    (one prefill of the window), so that a quantised cache is what attention reads."""
    losses = []
    with torch.inference_mode():
        for i in range(windows):
            x = data[i * CONTEXT:(i + 1) * CONTEXT][None]              # (1, T)
            y = data[i * CONTEXT + 1:(i + 1) * CONTEXT + 1][None]
            c = model.config
            caches = ([Int8KVCache(1, c.n_heads, c.context_length, c.d_model // c.n_heads)
                       for _ in range(c.n_layers)] if int8_cache else model.new_caches(1))
            logits = model.logits(x, caches)
            losses.append(torch.nn.functional.cross_entropy(logits[0], y[0]).item())
    return statistics.fmean(losses)


VARIANTS = {"int8": (8, "bfloat16"), "int8, int8 activations": (8, "int8"), "int4": (4, "bfloat16")}


def kernels(repeats: int = 15) -> dict[str, float]:
    """Billions of weights a second that each product streams at batch 1 on GPT-2 small's head
    (50,257 x 768, far larger than the caches): the float32 product in the decoding layout, and
    aten's int8 and int4 kernels handed float32 or bfloat16 activations (median of repeats)."""
    torch.manual_seed(0)
    head = torch.nn.Linear(768, GPT2_SMALL.vocab_size, bias=False)
    x = torch.randn(1, 768)
    W_t = head.weight.detach().t().contiguous()                          # (C, V), input-major
    int8, int4 = Int8Linear(head), Int4Linear(head, group=128)
    unit = torch.ones(int8.out_features)
    products = {"float32 product (input-major, one call)": lambda: x @ W_t}
    for dtype, name in ((torch.float32, "float32"), (torch.bfloat16, "bfloat16")):
        products[f"int8 kernel, {name} activations"] = (
            lambda d=dtype: torch.ops.aten._weight_int8pack_mm(x.to(d), int8.q, unit.to(d)))
        products[f"int4 kernel, {name} activations"] = (
            lambda d=dtype: torch.ops.aten._weight_int4pack_mm_for_cpu(
                x.to(d), int4.packed, int4.group, int4.scale_and_zero.to(d)))
    rates = {}
    for name, product in products.items():
        rates[name] = head.weight.numel() / median_seconds(product, repeats) / 1e9
    return rates


def speed() -> dict:
    torch.manual_seed(0)
    fp32 = GPT(GPT2_SMALL).eval()
    models = {"float32": fp32}
    for name, (bits, activations) in VARIANTS.items():
        models[name] = copy.deepcopy(fp32)
        quantize_linears(models[name], bits, group=128, activations=activations)  # in place
    prompt = torch.zeros(1, 1, dtype=torch.long)
    tokens = {}

    def run(name):
        return lambda: tokens.update({name: models[name].generate(prompt, NEW_TOKENS, temperature=0.0)})

    for name in models:
        run(name)()  # warm-up, and the float32 model's decoding layout
    result = {}
    for name in VARIANTS:
        pairs = interleaved(run("float32"), run(name), PAIRS)
        bandwidth = bandwidth_gb_s(repeats=5)
        start = time.perf_counter()
        run(name)()
        tps = NEW_TOKENS / (time.perf_counter() - start)
        result[name] = {"vs_float32": pairs.as_dict(), "tokens_per_s": NEW_TOKENS / pairs.median_b,
                        "float32_tokens_per_s": NEW_TOKENS / pairs.median_a,
                        "step_bytes": step_bytes(models[name]), "bandwidth_gb_s": bandwidth,
                        "fraction_of_bound": tps * step_bytes(models[name]) / (bandwidth * 1e9),
                        "same_greedy_tokens_as_float32": torch.equal(tokens[name], tokens["float32"])}
    bandwidth = bandwidth_gb_s(repeats=5)
    start = time.perf_counter()
    run("float32")()
    tps = NEW_TOKENS / (time.perf_counter() - start)
    result["float32"] = {"step_bytes": step_bytes(fp32), "bandwidth_gb_s": bandwidth,
                         "fraction_of_bound": tps * step_bytes(fp32) / (bandwidth * 1e9)}
    return result


def quality() -> dict:
    text = tiny_shakespeare()
    tokenizer = CharTokenizer.train(text)
    data = torch.tensor(tokenizer.encode(text))
    split = int(0.9 * len(data))
    model, log = trained("target", TARGET, data[:split], seed=0)
    held_out = data[split:]
    rows = {"float32": val_loss(model, held_out),
            "float32, int8 KV cache": val_loss(model, held_out, int8_cache=True)}
    for label, bits, group, activations in (("int8 weights", 8, 128, "bfloat16"),
                                            ("int8 weights and activations", 8, 128, "int8"),
                                            ("int4 weights (groups of 64)", 4, 64, "bfloat16"),
                                            ("int4 weights (groups of 32)", 4, 32, "bfloat16")):
        q = copy.deepcopy(model)
        quantize_linears(q, bits, group=group, activations=activations)
        rows[label] = val_loss(q, held_out)
        if label == "int8 weights":
            rows["int8 weights, int8 KV cache"] = val_loss(q, held_out, int8_cache=True)
    return {"val_loss": rows, "model": {"layers": TARGET.n_layers, "width": TARGET.d_model,
                                        "parameters": model.num_parameters(), "log": log}}


def main() -> None:
    torch.set_grad_enabled(False)
    watch = LoadWatch()
    products = kernels()
    fast = speed()
    good = quality()
    watch.stop()
    record = {"kernels": products, "speed": fast, "quality": good, "goal_int8_speedup": GOAL_INT8,
              "load": watch.as_dict(), "machine": machine()}
    (RESULTS / "quantized.json").write_text(json.dumps(record, indent=1) + "\n")
    f32 = fast["float32"]
    lines = ["| Weights | Bytes read a step | tokens/s | Speed-up over float32 | Fraction of the bound "
             "| Greedy tokens as float32 |", "|---|---:|---:|---:|---:|:---:|",
             f"| float32 | {f32['step_bytes'] / 1e6:,.0f} MB | "
             f"{fast['int8']['float32_tokens_per_s']:.1f} | 1.00x | {f32['fraction_of_bound']:.0%} | |"]
    for name in VARIANTS:
        r = fast[name]
        lines.append(f"| {name} | {r['step_bytes'] / 1e6:,.0f} MB | {r['tokens_per_s']:.1f} | "
                     f"**{r['vs_float32']['ratio_median']:.2f}x** | {r['fraction_of_bound']:.0%} | "
                     f"{'yes' if r['same_greedy_tokens_as_float32'] else 'no'} |")
    base = good["val_loss"]["float32"]
    lines += ["", f"| Model ({TARGET.n_layers} layers, width {TARGET.d_model}, tiny Shakespeare) "
              "| Held-out loss (nats/char) | Change |", "|---|---:|---:|"]
    for label, loss in good["val_loss"].items():
        lines.append(f"| {label} | {loss:.4f} | {loss - base:+.4f} |")
    lines += ["", "| Product at batch 1 on GPT-2 small's head (50,257 x 768) | Billion weights a second |",
              "|---|---:|"] + [f"| {name} | {rate:.1f} |" for name, rate in products.items()]
    lines += ["", f"GPT-2 small's shape with random weights, greedy, batch 1, {NEW_TOKENS} new tokens; "
              f"each speed-up is the median of {PAIRS} interleaved pairs against float32 (which runs "
              "plain generate, its weights laid out for decoding). int8: one scale per output row, "
              "the product in bfloat16 (W8A16), and with int8 activations each input row quantised "
              "at run time and multiplied on integers (W8A8); int4: a scale and an offset per group "
              "of 128 inputs, the product in bfloat16 (W4A16). The bound: bandwidth, measured "
              "right before a timed run, over the bytes a step reads (weights only: the "
              f"activations are a few kilobytes). The last table: the head's product alone, each rate "
              f"the median of 15. Goal: int8 at least {GOAL_INT8}x float32.", "", f"{machine()}. {watch.line()}"]
    write_markdown("quantized.md", lines)


if __name__ == "__main__":
    main()
