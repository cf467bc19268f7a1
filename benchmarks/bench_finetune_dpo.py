"""DPO on the Shakespeare GPT with synthetic preferences, and DPOP, a remedy for its failure.

Each pair: a 48-character prompt from Shakespeare's validation text; the chosen answer is the
true next 16 characters, the rejected answer is the same 16 characters with 2 of them replaced
by random letters (a near-duplicate, the case in which Pal et al., 2024, arXiv:2402.13228,
showed that DPO lowers the chosen answer's likelihood). The policy and the frozen reference
start as the same pre-trained model. Every 10 steps, on 96 held-out pairs: the mean reward
margin β·margin, the preference accuracy (margin > 0) and the chosen answers' mean log-likelihood
per character. Writes results/finetune_dpo.md and .json.
"""

import copy
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.finetune_common import pretrained
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.preference import check_pairs, dpo_loss, sequence_logprob, sft_targets

PROMPT, ANSWER, EDITS, BATCH, STEPS, EVERY, BETA, LR = 48, 16, 2, 16, 60, 10, 0.1, 1e-3


def make_pairs(data: torch.Tensor, n: int, letters: torch.Tensor,
               g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n (chosen, rejected) sequences of PROMPT + ANSWER ids that differ in EDITS answer places."""
    starts = torch.randint(0, len(data) - PROMPT - ANSWER, (n,), generator=g)
    chosen = data[starts[:, None] + torch.arange(PROMPT + ANSWER)]            # (n, T)
    rejected = chosen.clone()
    for row in range(n):
        where = PROMPT + torch.randperm(ANSWER, generator=g)[:EDITS]
        for pos in where.tolist():  # a random letter different from the true one
            choices = letters[letters != chosen[row, pos]]
            rejected[row, pos] = choices[torch.randint(0, len(choices), (1,), generator=g)]
    check_pairs(chosen, rejected)
    return chosen, rejected


def logprobs(model, seqs: torch.Tensor) -> torch.Tensor:
    """Summed log-likelihood of each sequence's answer: (n, T) -> (n,)."""
    targets = sft_targets(seqs, torch.full((len(seqs),), PROMPT))
    return sequence_logprob(model(seqs[:, :-1])[0], targets)


def run(base, train_pairs, test_pairs, dpop_lambda: float) -> list[dict]:
    policy, reference = copy.deepcopy(base).train(), copy.deepcopy(base).eval()
    optimizer = torch.optim.AdamW(policy.parameters(), lr=LR, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    curve = []
    for step in range(STEPS + 1):
        if step % EVERY == 0:
            with torch.no_grad():
                pc, pr = logprobs(policy, test_pairs[0]), logprobs(policy, test_pairs[1])
                rc, rr = logprobs(reference, test_pairs[0]), logprobs(reference, test_pairs[1])
                _, margin = dpo_loss(pc, pr, rc, rr, beta=BETA)
            curve.append({"step": step, "reward_margin": BETA * margin.mean().item(),
                          "accuracy": (margin > 0).double().mean().item(),
                          "chosen_logp": pc.mean().item() / ANSWER,
                          "rejected_logp": pr.mean().item() / ANSWER})
        if step == STEPS:
            break
        pick = torch.randint(0, len(train_pairs[0]), (BATCH,), generator=g)
        chosen, rejected = train_pairs[0][pick], train_pairs[1][pick]
        with torch.no_grad():
            rc, rr = logprobs(reference, chosen), logprobs(reference, rejected)
        loss, _ = dpo_loss(logprobs(policy, chosen), logprobs(policy, rejected), rc, rr,
                           beta=BETA, dpop_lambda=dpop_lambda)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return curve


def pairs(tok, data) -> tuple:
    letters = torch.tensor(tok.encode("abcdefghijklmnopqrstuvwxyz"))
    g = torch.Generator().manual_seed(0)
    val = data["shakespeare_val"]
    half = len(val) // 2  # train pairs and held-out pairs from different halves
    return make_pairs(val[:half], 2048, letters, g), make_pairs(val[half:], 96, letters, g)


def run_one(dpop_lambda: float) -> dict:
    """One run in its own process (the machine is shared), one torch thread."""
    torch.set_num_threads(1)
    base, tok, data, _ = pretrained()
    train_pairs, test_pairs = pairs(tok, data)
    t0 = time.perf_counter()
    curve = run(base, train_pairs, test_pairs, dpop_lambda)
    return {"lambda": dpop_lambda, "curve": curve, "seconds": time.perf_counter() - t0}


def main() -> None:
    load_before = load_average()
    pretrained()  # trains and caches the base model once, if needed
    names = {"DPO": 0.0, "DPOP, λ = 5": 5.0, "DPOP, λ = 50": 50.0}
    with ProcessPoolExecutor(len(names), mp_context=mp.get_context("spawn")) as pool:
        runs = dict(zip(names, pool.map(run_one, names.values())))
    load_after = load_average()
    rows = ["| Method | Step | Reward margin β·m | Preference accuracy | "
            "Chosen log-lik / char | Rejected log-lik / char |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in runs.items():
        for point in r["curve"]:
            if point["step"] in (0, STEPS // 3, 2 * STEPS // 3, STEPS):
                rows.append(f"| {name} | {point['step']} | {point['reward_margin']:.3f} | "
                            f"{point['accuracy']:.1%} | {point['chosen_logp']:.3f} | "
                            f"{point['rejected_logp']:.3f} |")
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    lines = rows + ["", f"β = {BETA}, AdamW lr {LR:g}, batch {BATCH} pairs, {STEPS} steps, 2,048 "
                    f"training pairs and 96 held-out pairs; prompts of {PROMPT} and answers of "
                    f"{ANSWER} characters, rejected = chosen with {EDITS} letters replaced. "
                    f"{machine()}; load average {load_before} before and {load_after} after"
                    + (" (above the 2 cores: the machine was shared)." if busy else ".")]
    write_markdown("finetune_dpo.md", lines)
    (RESULTS / "finetune_dpo.json").write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
