"""A task whose answers a program can check: addition written in characters.

A prompt is two zero-padded operands, "047+315="; the answer is the sum and an end mark, "362;".
The verifier reads a sampled completion up to its first ";" and compares it with the sum: this is
the rule-based, outcome-only reward of reinforcement learning with verifiable rewards (RLVR).
Shape legend: N problems, P prompt length, L completion length.
"""

# --8<-- [start:imports]
import torch
# --8<-- [end:imports]


# --8<-- [start:task]
ALPHABET = "0123456789+=;"
END = ALPHABET.index(";")


def encode(text: str) -> list[int]:
    unknown = sorted(set(text) - set(ALPHABET))
    if unknown:
        raise ValueError(f"characters {unknown} are not in the alphabet {ALPHABET!r}")
    return [ALPHABET.index(ch) for ch in text]


def decode(ids: list[int]) -> str:
    return "".join(ALPHABET[i] for i in ids)


def make_problems(n: int, digits: int, generator: torch.Generator) -> torch.Tensor:
    """n pairs of operands, each in [0, 10^digits): (N, 2)."""
    if n < 1 or digits < 1:
        raise ValueError(f"need n >= 1 and digits >= 1, got n={n}, digits={digits}")
    return torch.randint(0, 10 ** digits, (n, 2), generator=generator)


def prompt_ids(problems: torch.Tensor, digits: int) -> torch.Tensor:
    """Zero-padded prompts, all of one length P = 2 digits + 2: (N, 2) -> (N, P)."""
    return torch.tensor([encode(f"{a:0{digits}d}+{b:0{digits}d}=") for a, b in problems.tolist()])


def answer_text(problems: torch.Tensor) -> list[str]:
    """What a correct completion reads: the sum, then the end mark."""
    return [f"{a + b};" for a, b in problems.tolist()]


def completion_text(completions: torch.Tensor) -> list[str | None]:
    """Each completion (N, L) read up to its first end mark; None when it never ends."""
    texts = []
    for row in completions.tolist():
        texts.append(decode(row[:row.index(END)]) if END in row else None)
    return texts


def correctness_reward(completions: torch.Tensor, problems: torch.Tensor) -> torch.Tensor:
    """The verifier: 1.0 where the completion is exactly the sum, else 0.0: (N,)."""
    sums = [str(a + b) for a, b in problems.tolist()]
    return torch.tensor([float(t == s) for t, s in zip(completion_text(completions), sums)])
# --8<-- [end:task]


# --8<-- [start:flawed]
def length_reward(completions: torch.Tensor, problems: torch.Tensor, cap: int = 8) -> torch.Tensor:
    """A flawed proxy: more digits before the end mark (or before the cut) score higher, up to
    cap. Like a reward model that learned "longer answers were preferred", it pays for output
    that solves nothing: (N,) in [0, 1]. problems is unused; it keeps the verifier's signature."""
    scores = []
    for row in completions.tolist():
        body = row[:row.index(END)] if END in row else row
        scores.append(min(sum(i < 10 for i in body), cap) / cap)
    return torch.tensor(scores)
# --8<-- [end:flawed]


# --8<-- [start:sft_batch]
def sft_batch(problems: torch.Tensor, digits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets for supervised training on worked answers.

    Sequence = prompt + answer + end, padded with end marks to one length; targets are -100
    (ignored) on the prompt and on the padding, so the loss covers the answer and one end mark.
    """
    P = 2 * digits + 2
    answers = answer_text(problems)
    longest = max(len(a) for a in answers)
    seqs, targets = [], []
    for (a, b), ans in zip(problems.tolist(), answers):
        ids = encode(f"{a:0{digits}d}+{b:0{digits}d}=" + ans) + [END] * (longest - len(ans))
        target = [-100] * (P - 1) + ids[P:P + len(ans)] + [-100] * (longest - len(ans))
        seqs.append(ids[:-1])
        targets.append(target)
    return torch.tensor(seqs), torch.tensor(targets)                 # (N, P + A − 1) each
# --8<-- [end:sft_batch]
