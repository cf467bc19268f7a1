"""Spending compute at test time: n sampled answers per problem, then one answer chosen.

Best-of-n with a verifier: correct when any of the n answers verifies (pass@n; it needs a checker
at test time). Majority voting, self-consistency (Wang et al., 2022, arXiv:2203.11171): the most
frequent final answer wins, no checker needed.
Shape legend: N problems, n answers per problem.
"""

# --8<-- [start:imports]
from collections import Counter
# --8<-- [end:imports]


# --8<-- [start:vote]
def majority_vote(answers: list[str | None]) -> str | None:
    """The most frequent answer among those that parsed; a tie goes to the one seen first."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    return max(counts, key=lambda a: (counts[a], -answers.index(a)))


def accuracy_at_n(answers: list[list[str | None]], truths: list[str],
                       n: int) -> tuple[float, float]:
    """Best-of-n and majority-vote accuracy over problems, each using its first n answers."""
    if len(answers) != len(truths):
        raise ValueError(f"{len(answers)} answer lists for {len(truths)} problems")
    if not 1 <= n <= min(len(a) for a in answers):
        raise ValueError(f"n must be in [1, {min(len(a) for a in answers)}], got {n}")
    best = sum(truth in a[:n] for a, truth in zip(answers, truths))
    vote = sum(majority_vote(a[:n]) == truth for a, truth in zip(answers, truths))
    return best / len(truths), vote / len(truths)
# --8<-- [end:vote]
