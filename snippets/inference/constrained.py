"""Constrained decoding: a deterministic finite automaton (DFA) over characters decides, at
every step, which tokens may come next; the others get probability zero, so what the model
writes always belongs to the automaton's language (a date, a number, ...).

The same idea, compiled from a regular expression or a grammar, is what structured-output
libraries do (Willard & Louf, 2023, arXiv:2307.09702, index a regex's DFA by vocabulary token).
Shape legend: T time, V vocabulary size.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch

from snippets.models.gpt import GPT
from snippets.models.sampling import sample_next
# --8<-- [end:imports]


# --8<-- [start:dfa]
@dataclass(frozen=True)
class DFA:
    """States are integers; edges[state][char] is the next state; no edge means "not allowed"."""

    edges: dict[int, dict[str, int]]
    accepting: frozenset[int]
    start: int = 0

    def step(self, state: int | None, text: str) -> int | None:
        """The state after reading text from state, or None if some character is not allowed."""
        for ch in text:
            if state is None:
                return None
            state = self.edges.get(state, {}).get(ch)
        return state

    def matches(self, text: str) -> bool:
        return self.step(self.start, text) in self.accepting

    def finished(self, state: int) -> bool:
        """Accepting with no way to go on: the pattern is complete."""
        return state in self.accepting and not self.edges.get(state)


DIGITS = "0123456789"


def from_table(table: list[tuple[int, str, int]], accepting: set[int]) -> DFA:
    """A DFA from rows (state, characters, next state)."""
    edges: dict[int, dict[str, int]] = {}
    for state, chars, to in table:
        edges.setdefault(state, {}).update(dict.fromkeys(chars, to))
    return DFA(edges, frozenset(accepting))


def date_dfa() -> DFA:
    """YYYY-MM-DD with month 01-12 and day 01-31: the language of
    r"\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])" (month lengths are not checked)."""
    return from_table([
        (0, DIGITS, 1), (1, DIGITS, 2), (2, DIGITS, 3), (3, DIGITS, 4), (4, "-", 5),  # year
        (5, "0", 6), (5, "1", 7), (6, "123456789", 8), (7, "012", 8), (8, "-", 9),     # month
        (9, "0", 10), (9, "12", 11), (9, "3", 12),                                     # day
        (10, "123456789", 13), (11, DIGITS, 13), (12, "01", 13),
    ], accepting={13})


def number_dfa() -> DFA:
    """A decimal number: the language of r"-?(0|[1-9]\\d{0,5})(\\.\\d{1,2})?"."""
    integer = [(s, DIGITS, s + 1) for s in range(3, 8)]         # states 3-8: 1 to 6 digits
    point = [(s, ".", 9) for s in range(2, 9)]
    return from_table([
        (0, "-", 1), (0, "0", 2), (1, "0", 2), (0, "123456789", 3), (1, "123456789", 3),
        *integer, *point, (9, DIGITS, 10), (10, DIGITS, 11),     # no leading zeros; 1-2 decimals
    ], accepting={2, 3, 4, 5, 6, 7, 8, 10, 11})


def choice_dfa(options: list[str]) -> DFA:
    """Exactly one of the options: a trie, one state per distinct prefix."""
    if not options or "" in options:
        raise ValueError(f"need non-empty options, got {options}")
    prefixes = sorted({o[:i] for o in options for i in range(len(o) + 1)}, key=lambda t: (len(t), t))
    state = {prefix: i for i, prefix in enumerate(prefixes)}            # "" is state 0
    table = [(state[t[:-1]], t[-1], state[t]) for t in prefixes[1:]]
    return from_table(table, accepting={state[o] for o in options})
# --8<-- [end:dfa]


# --8<-- [start:mask]
def allowed_tokens(dfa: DFA, state: int, vocab: list[str]) -> torch.Tensor:
    """Boolean (V,): the tokens whose whole text the automaton accepts from state.

    A token of several characters (a BPE piece) is allowed only if every character is."""
    return torch.tensor([tok != "" and dfa.step(state, tok) is not None for tok in vocab])
# --8<-- [end:mask]


# --8<-- [start:generate]
def constrained_generate(model: GPT, prompt: torch.Tensor, dfa: DFA, vocab: list[str],
                         max_new_tokens: int, *, end_token: int | None = None,
                         temperature: float = 1.0,
                         generator: torch.Generator | None = None) -> list[int]:
    """Sample after prompt (1, T) with every token outside the automaton's language masked out;
    returns the new tokens, whose text the automaton accepts.

    Stops when the pattern is complete, or, in an accepting state, when the model picks
    end_token (e.g. a newline) where the pattern could go on.
    """
    model.check_ids(prompt)
    if len(vocab) != model.config.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} entries, the model {model.config.vocab_size}")
    if prompt.shape[0] != 1 or prompt.shape[1] + max_new_tokens > model.config.context_length:
        raise ValueError(f"need one prompt (1, T) with T + max_new_tokens <= context_length="
                         f"{model.config.context_length}; got {tuple(prompt.shape)} and {max_new_tokens}")
    state, new = dfa.start, []
    caches = model.new_caches(1)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            logits = model.logits(prompt, caches, last_only=True)[:, -1]    # (1, V)
            while not dfa.finished(state) and len(new) < max_new_tokens:
                allowed = allowed_tokens(dfa, state, vocab)                  # (V,)
                can_end = end_token is not None and state in dfa.accepting
                if can_end:
                    allowed[end_token] = True
                if not allowed.any():
                    raise ValueError(f"no token of the vocabulary continues the pattern from "
                                     f"state {state} (after {''.join(vocab[t] for t in new)!r})")
                masked = logits.masked_fill(~allowed, float("-inf"))         # (1, V)
                token = int(sample_next(masked, temperature=temperature, generator=generator))
                if can_end and token == end_token and dfa.step(state, vocab[token]) is None:
                    break                                                    # the model chose to stop
                new.append(token)
                state = dfa.step(state, vocab[token])
                logits = model.logits(torch.tensor([[token]]), caches)[:, -1]
    finally:
        model.train(was_training)
    if state not in dfa.accepting:
        raise ValueError(f"max_new_tokens={max_new_tokens} ran out before the pattern was complete "
                         f"(after {''.join(vocab[t] for t in new)!r}); allow more tokens")
    return new
# --8<-- [end:generate]
