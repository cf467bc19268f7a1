"""Constrained decoding: the hand-written automata accept exactly their regular expressions,
the token mask allows exactly the continuations that stay in the language, and generation
under the mask always parses (many seeds, an untrained model that would otherwise write noise)."""

import datetime
import itertools
import random
import re

import pytest
import torch

from snippets.inference.constrained import (allowed_tokens, choice_dfa, constrained_generate,
                                            date_dfa, number_dfa)
from snippets.models.gpt import GPT, GPTConfig

DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
NUMBER = r"-?(0|[1-9]\d{0,5})(\.\d{1,2})?"
VOCAB = list("0123456789-.:abc \n")


def test_number_automaton_accepts_exactly_the_regex():
    dfa = number_dfa()
    for n in range(9):  # every string of up to 8 characters over a representative alphabet
        for chars in itertools.product("019-.", repeat=n):
            text = "".join(chars)
            assert dfa.matches(text) == bool(re.fullmatch(NUMBER, text)), text


def test_date_automaton_accepts_exactly_the_regex():
    dfa, rng = date_dfa(), random.Random(0)
    matched = 0
    for _ in range(20_000):  # digits where a date has digits, mostly dashes where it has dashes
        text = "".join(rng.choice("-0" if i in (4, 7) else "0123456789") for i in range(10))
        matched += dfa.matches(text)
        assert dfa.matches(text) == bool(re.fullmatch(DATE, text)), text
    assert matched > 100
    assert not dfa.matches("2024-01-1") and not dfa.matches("2024-01-011")


def test_choice_automaton_accepts_exactly_its_options():
    options = ["mat.", "map", "log.", "lo"]
    dfa = choice_dfa(options)
    prefixes = {o[:i] for o in options for i in range(5)}
    for text in prefixes | {"mat", "mats", "lo.", "x", "log.."}:
        assert dfa.matches(text) == (text in options), text
    assert dfa.finished(dfa.step(dfa.start, "mat.")) and not dfa.finished(dfa.step(dfa.start, "lo"))
    with pytest.raises(ValueError, match="non-empty"):
        choice_dfa(["a", ""])


def test_mask_allows_exactly_the_continuations_in_the_language():
    dfa = date_dfa()
    state = dfa.step(dfa.start, "2024-1")                              # month 1x: only 0, 1, 2
    assert [t for t, ok in zip(VOCAB, allowed_tokens(dfa, state, VOCAB)) if ok] == ["0", "1", "2"]
    pieces = ["20", "24-", "2-3", "-1", ""]                            # multi-character tokens
    assert allowed_tokens(dfa, dfa.start, pieces).tolist() == [True, False, False, False, False]
    assert allowed_tokens(dfa, dfa.step(dfa.start, "20"), pieces).tolist() == [True, True, False, False, False]


def untrained() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=len(VOCAB), context_length=32, n_layers=1, n_heads=2,
                         d_model=16)).eval()


def test_generated_dates_always_parse():
    model, prompt = untrained(), torch.tensor([[VOCAB.index(" ")]])
    seen = set()
    for seed in range(150):
        g = torch.Generator().manual_seed(seed)
        text = "".join(VOCAB[t] for t in constrained_generate(model, prompt, date_dfa(), VOCAB, 10,
                                                              temperature=1.5, generator=g))
        assert re.fullmatch(DATE, text), text
        if not text.endswith(("-30", "-31")) and not text[5:].startswith("02-29"):
            datetime.date.fromisoformat(text)                           # a real calendar date
        seen.add(text)
    assert len(seen) > 100                                              # sampled, not one answer


def test_generated_numbers_always_parse_and_may_stop_early():
    model, prompt = untrained(), torch.tensor([[VOCAB.index(":")]])
    lengths = set()
    for seed in range(150):
        g = torch.Generator().manual_seed(seed)
        tokens = constrained_generate(model, prompt, number_dfa(), VOCAB, 10,
                                      end_token=VOCAB.index("\n"), generator=g)
        text = "".join(VOCAB[t] for t in tokens)
        assert re.fullmatch(NUMBER, text), text
        float(text)
        lengths.add(len(text))
    assert min(lengths) <= 2 and max(lengths) >= 6                     # the end token was used


def test_unfinished_or_impossible_patterns_are_refused():
    model, prompt = untrained(), torch.tensor([[0]])
    with pytest.raises(ValueError, match="ran out"):
        constrained_generate(model, prompt, date_dfa(), VOCAB, 6)
    letters_only = [c if not c.isdigit() else "x" for c in VOCAB]
    with pytest.raises(ValueError, match="no token of the vocabulary"):
        constrained_generate(model, prompt, date_dfa(), letters_only, 10)
