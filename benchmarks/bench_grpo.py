"""GRPO on our GPT for 2-digit addition, against the same steps of more supervised training.

The data: all 10,000 problems "ab+cd=" are split once into 500 labelled training problems (with
worked answers), 500 held-out problems and the rest, a pool of prompts without answers that only
the verifier can score. Per seed, a 2-layer GPT (d_model 64, 13 characters) is trained from
scratch on the labelled problems until it has (nearly) memorised them, where its held-out
accuracy has levelled off; from that SFT model, for the same number of steps:
  - more SFT on the labelled problems (batch 128 sequences: as many as GRPO's B·G);
  - GRPO with the verifier's reward, β = 0.04 (the KL to the SFT model) and β = 0;
  - GRPO with a flawed reward (more digits score higher): reward hacking, β = 0.04 and β = 0.
Every EVERY steps, on the held-out problems: greedy exact-match accuracy, and the mean reward of
one sampled answer each (temperature 1). Then test-time compute: 32 sampled answers per held-out
problem from the SFT model and from the GRPO model, scored as best-of-n with the verifier and as
majority vote, n = 1 ... 32. Writes results/grpo.json and results/grpo.md.
"""

import copy
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation import arithmetic_task as task
from snippets.adaptation.grpo import GRPOConfig, grpo_step
from snippets.adaptation.preference import sft_loss
from snippets.adaptation.voting import accuracy_at_n
from snippets.models.gpt import GPT, GPTConfig

DIGITS, N_TRAIN, N_TEST = 2, 500, 500
SFT_STEPS, SFT_BATCH, SFT_LR = 1400, 64, 3e-3
STEPS, EVERY, PROMPTS, RL_LR = 200, 25, 16, 3e-4
GROUP = GRPOConfig(group_size=8, max_new_tokens=DIGITS + 2, clip_eps=0.2, beta=0.04, inner_steps=2)
SEEDS = (0, 1, 2)
SAMPLES = 32
NS = (1, 2, 4, 8, 16, 32)
P = 2 * DIGITS + 2
CONFIG = GPTConfig(vocab_size=len(task.ALPHABET), context_length=P + DIGITS + 3, n_layers=2,
                   n_heads=4, d_model=64)
ARMS = {"more SFT": None,
        "GRPO, β = 0.04": ("correct", 0.04), "GRPO, β = 0": ("correct", 0.0),
        "GRPO on a length reward, β = 0.04": ("length", 0.04),
        "GRPO on a length reward, β = 0": ("length", 0.0)}
REWARDS = {"correct": task.correctness_reward, "length": task.length_reward}


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labelled training problems, held-out problems and the unlabelled prompt pool: (n, 2) each."""
    side = 10 ** DIGITS
    every = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij"),
                        dim=-1).reshape(-1, 2)                                 # (side², 2)
    order = torch.randperm(len(every), generator=torch.Generator().manual_seed(1234))
    every = every[order]
    return every[:N_TRAIN], every[N_TRAIN:N_TRAIN + N_TEST], every[N_TRAIN + N_TEST:]


def sft(model: GPT, optimizer, train: torch.Tensor, steps: int, batch: int,
        g: torch.Generator) -> None:
    for _ in range(steps):
        x, y = task.sft_batch(train[torch.randint(0, len(train), (batch,), generator=g)], DIGITS)
        loss = sft_loss(model(x)[0], y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def evaluate(model: GPT, test: torch.Tensor, g: torch.Generator) -> dict:
    prompts = task.prompt_ids(test, DIGITS)
    greedy = model.generate(prompts, GROUP.max_new_tokens, temperature=0.0)[:, P:]
    sampled = model.generate(prompts, GROUP.max_new_tokens, generator=g)[:, P:]
    return {"accuracy": task.correctness_reward(greedy, test).mean().item(),
            "sampled_reward": task.correctness_reward(sampled, test).mean().item(),
            "length_reward": task.length_reward(sampled, test).mean().item()}


def base_model(seed: int) -> dict:
    """The SFT model of one seed, trained until it has (nearly) memorised its labelled problems."""
    cpu0 = time.process_time()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train, test, _ = split()
    g = torch.Generator().manual_seed(seed)
    model = GPT(CONFIG)
    optimizer = torch.optim.AdamW(model.parameters(), lr=SFT_LR, weight_decay=0.0)
    t0 = time.perf_counter()
    sft(model, optimizer, train, SFT_STEPS, SFT_BATCH, g)
    seconds = time.perf_counter() - t0
    return {"state": model.state_dict(), "optimizer": optimizer.state_dict(), "seconds": seconds,
            "train_accuracy": evaluate(model, train, g)["accuracy"],
            "cpu_seconds": time.process_time() - cpu0}


def run_arm(seed: int, arm: str, base: dict) -> dict:
    cpu0 = time.process_time()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train, test, pool = split()
    g = torch.Generator().manual_seed(1000 + seed)
    policy = GPT(CONFIG)
    policy.load_state_dict(base["state"])
    reference = copy.deepcopy(policy).eval()
    if ARMS[arm] is None:  # SFT goes on with its own optimiser state, as if it had never paused
        optimizer = torch.optim.AdamW(policy.parameters(), lr=SFT_LR, weight_decay=0.0)
        optimizer.load_state_dict(base["optimizer"])
    else:
        reward_name, beta = ARMS[arm]
        optimizer = torch.optim.AdamW(policy.parameters(), lr=RL_LR, weight_decay=0.0)
        config = GRPOConfig(**{**GROUP.__dict__, "beta": beta})
    curve, train_reward, seconds = [], [], 0.0
    for step in range(0, STEPS + 1, EVERY):
        curve.append({"step": step, **evaluate(policy, test, g)})
        if step == STEPS:
            break
        t0 = time.perf_counter()
        if ARMS[arm] is None:
            sft(policy, optimizer, train, EVERY, GROUP.group_size * PROMPTS, g)
        else:
            for _ in range(EVERY):
                problems = pool[torch.randint(0, len(pool), (PROMPTS,), generator=g)]
                stats = grpo_step(policy, reference, optimizer, task.prompt_ids(problems, DIGITS),
                                  problems, REWARDS[reward_name], task.END, config, g)
                train_reward.append(stats)
        seconds += time.perf_counter() - t0
    result = {"seed": seed, "arm": arm, "curve": curve, "seconds": seconds,
              "train_steps": train_reward}
    if arm in ("more SFT", "GRPO, β = 0.04"):  # test-time compute of the SFT and GRPO models
        model = reference if ARMS[arm] is None else policy
        result["test_time"] = {"SFT model" if ARMS[arm] is None else "after " + arm:
                               sample_and_score(model, test, g)}
    result["cpu_seconds"] = time.process_time() - cpu0
    return result


def sample_and_score(model: GPT, test: torch.Tensor, g: torch.Generator) -> dict:
    """Best-of-n (verifier) and majority-vote accuracy for n = 1 ... SAMPLES."""
    prompts = task.prompt_ids(test, DIGITS).repeat_interleave(SAMPLES, dim=0)
    out = model.generate(prompts, GROUP.max_new_tokens, generator=g)[:, P:]
    texts = task.completion_text(out)
    answers = [texts[i * SAMPLES:(i + 1) * SAMPLES] for i in range(len(test))]
    truths = [str(a + b) for a, b in test.tolist()]
    table = {n: accuracy_at_n(answers, truths, n) for n in NS}
    return {"n": list(NS), "best_of_n": [table[n][0] for n in NS],
            "majority": [table[n][1] for n in NS]}


def summary_rows(runs: list[dict]) -> list[str]:
    rows = [f"| Arm | Held-out accuracy, SFT model | After {STEPS} steps (mean ± sd, "
            f"{len(SEEDS)} seeds) | "
            "Change per seed | Sampled reward, verifier | Sampled reward, length |",
            "|---|---:|---:|---|---:|---:|"]
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        start = [r["curve"][0]["accuracy"] for r in mine]
        end = [r["curve"][-1]["accuracy"] for r in mine]
        change = ", ".join(f"{e - s:+.1%}" for s, e in zip(start, end))
        mean = sum(end) / len(end)
        sd = (sum((e - mean) ** 2 for e in end) / (len(end) - 1)) ** 0.5
        verified = sum(r["curve"][-1]["sampled_reward"] for r in mine) / len(mine)
        length = sum(r["curve"][-1]["length_reward"] for r in mine) / len(mine)
        rows.append(f"| {arm} | {sum(start) / len(start):.1%} | {mean:.1%} ± {sd:.1%} | "
                    f"{change} | {verified:.3f} | {length:.3f} |")
    return rows


def main() -> None:
    load_before = load_average()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        bases = dict(zip(SEEDS, pool.map(base_model, SEEDS)))
        jobs = [(seed, arm) for arm in ARMS for seed in SEEDS]
        runs = list(pool.map(run_arm, *zip(*jobs), [bases[s] for s, _ in jobs]))
    total = time.perf_counter() - t0
    load_after = load_average()
    # CPU seconds of the worker processes: on 2 idle cores the wall time is about half their sum
    cpu = sum(b["cpu_seconds"] for b in bases.values()) + sum(r["cpu_seconds"] for r in runs)
    rows = summary_rows(runs)
    rows += ["", "Test-time compute, mean over seeds (held-out accuracy):", "",
             "| Model, method | " + " | ".join(f"n = {n}" for n in NS) + " |",
             "|---|" + "---:|" * len(NS)]
    timed = [r for r in runs if "test_time" in r]
    for model in ("SFT model", "after GRPO, β = 0.04"):
        for method in ("best_of_n", "majority"):
            curves = [r["test_time"][model][method] for r in timed if model in r["test_time"]]
            means = [sum(c[i] for c in curves) / len(curves) for i in range(len(NS))]
            label = "best-of-n (verifier)" if method == "best_of_n" else "majority vote"
            rows.append(f"| {model}, {label} | " + " | ".join(f"{m:.1%}" for m in means) + " |")
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    rows += ["", f"2-digit addition; GPT of 2 layers, d_model 64 ({GPT(CONFIG).num_parameters():,}"
             f" parameters); SFT {SFT_STEPS} steps of {SFT_BATCH} on {N_TRAIN} labelled problems "
             f"(lr {SFT_LR:g}); then {STEPS} steps: more SFT (batch {GROUP.group_size * PROMPTS}), "
             f"or GRPO ({PROMPTS} prompts × G = {GROUP.group_size}, ε = {GROUP.clip_eps}, "
             f"μ = {GROUP.inner_steps}, lr {RL_LR:g}); {N_TEST} held-out problems, greedy "
             f"accuracy; seeds {list(SEEDS)}. Whole benchmark {total / 60:.1f} min wall in 2 processes, "
             f"{cpu / 60:.1f} CPU-minutes in them (about {cpu / 120:.1f} min on 2 idle cores). "
             f"{machine()}; load average {load_before} before and {load_after} after"
             + (" (busy: above the 2 cores, the machine was shared)." if busy else ".")]
    write_markdown("grpo.md", rows)
    (RESULTS / "grpo.json").write_text(json.dumps({
        "config": {"digits": DIGITS, "n_train": N_TRAIN, "n_test": N_TEST, "sft_steps": SFT_STEPS,
                   "steps": STEPS, "every": EVERY, "prompts": PROMPTS, "group": GROUP.group_size,
                   "clip_eps": GROUP.clip_eps, "inner_steps": GROUP.inner_steps,
                   "rl_lr": RL_LR, "sft_lr": SFT_LR, "seeds": list(SEEDS)},
        "base": [{"seed": s, "train_accuracy": b["train_accuracy"], "seconds": b["seconds"],
                  "cpu_seconds": b["cpu_seconds"]}
                 for s, b in bases.items()],
        "runs": runs, "minutes": total / 60, "cpu_minutes": cpu / 60, "load_before": load_before,
        "load_after": load_after, "busy": busy}, indent=1))


if __name__ == "__main__":
    main()
