"""Our byte-level BPE against the textbook trainer, `tokenizers` (Rust) and `tiktoken` (Rust), on
tiny Shakespeare, with the protocol of benchmarks/report.py: every ratio is the median of
interleaved pairs (A, B, A, B, ...), every pair's times are recorded, and so is the load.

Trainers: fast/naive (on a slice, since the naive trainer re-counts the whole corpus per merge),
and ours/`tokenizers` on the whole corpus with the GPT-2 split. Encoding, with the GPT-4 split
and merges our trainer learned with it: the regex pass alone, our encoder without and with the
pre-token memo, `tokenizers` and `tiktoken` loaded with our merges (ids checked identical).
Writes results/tokenizers.txt (the page includes it) and results/tokenizers.json.
"""

import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version

import regex
import tiktoken
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from benchmarks.report import RESULTS, LoadWatch, Pairs, interleaved, load_average, machine
from snippets.tokenizers.bpe import MEMO_SIZE, ByteLevelBPE, train_fast, train_naive
from snippets.tokenizers.pretokenize import GPT4_PATTERN, compile_pattern
from snippets.training.corpus import tiny_shakespeare

VOCAB = 512
SLICE = 25_000   # characters the naive trainer sees (about 10 s a run on a quiet core)
PAIRS = 3
GOAL_MB_S = 2.0  # issue 17: our encoder, GPT-4 split, tiny Shakespeare
WIDTH = 100      # the page shows the report in a code column about 115 characters wide


def wrapped(line: str) -> list[str]:
    """A report line cut to fit WIDTH after a "; " (after a ", " where a clause is longer),
    continuation lines indented by four more spaces (a pairs line below its line, by two)."""
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    out = [line]
    while len(rest := out[-1]) > WIDTH:
        cut = rest.rfind("; ", len(indent), WIDTH)
        if cut < 0:
            cut = rest.rfind(", ", len(indent), WIDTH)
        if cut < 0:
            break
        out[-1:] = [rest[:cut + 1], indent + rest[cut + 2:]]
    return out


def hf_trained(text: str) -> Tokenizer:
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return hf


def hf_with_our_merges(ours: ByteLevelBPE) -> Tokenizer:
    """`tokenizers` with our merges and the same GPT-4 split (then its byte-to-character map)."""
    vocab, merges = ours.to_hf()
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    return hf


def line_chunks(text: str) -> list[str]:
    """Cut after a newline that a non-space follows: no GPT-4 pre-token crosses such a point
    (and none looks ahead across it), so the chunks pre-tokenize exactly as the whole text."""
    return regex.split(r"(?<=\n)(?=\S)", text)


def main() -> None:
    text = tiny_shakespeare()
    n_bytes = len(text.encode("utf-8"))
    mb = n_bytes / 1e6
    watch = LoadWatch()
    load_start = load_average()
    lines: list[str] = []
    record: dict = {"corpus": "tiny Shakespeare", "bytes": n_bytes, "vocab": VOCAB, "pairs": PAIRS,
                    "versions": {"tokenizers": version("tokenizers"), "tiktoken": version("tiktoken")}}

    def report(line: str) -> None:  # printed now, and written for the page to include
        for part in wrapped(line):
            print(part, flush=True)
            lines.append(part)

    def times(p: Pairs, a: str, b: str) -> str:
        return f"{a} / {b}: " + "; ".join(f"{x:.3f} / {y:.3f} s" for x, y in zip(p.a, p.b))

    # ---- trainers -------------------------------------------------------------------------
    part = text[:SLICE]
    same_merges = train_naive(part, VOCAB) == train_fast(part, VOCAB)
    p = interleaved(lambda: train_naive(part, VOCAB), lambda: train_fast(part, VOCAB), PAIRS)
    report(f"trainer, first {SLICE:,} characters, V = {VOCAB}: naive {p.median_a:.2f} s, fast "
           f"{p.median_b:.3f} s (medians), naive/fast {p.ratio:.1f}x, identical merges: {same_merges}")
    report(f"  pairs, {times(p, 'naive', 'fast')}")
    record["trainer_slice"] = {"chars": SLICE, **p.as_dict(), "identical_merges": same_merges}

    p = interleaved(lambda: train_fast(text, VOCAB), lambda: hf_trained(text), PAIRS)
    report(f"trainer, whole corpus ({mb:.2f} MB), V = {VOCAB}, GPT-2 split: ours {p.median_a:.2f} s, "
           f"tokenizers {p.median_b:.2f} s, ours/tokenizers {p.ratio:.1f}x")
    report(f"  pairs, {times(p, 'ours', 'tokenizers')}")
    record["trainer_corpus"] = p.as_dict()

    # ---- encoding, GPT-4 split -------------------------------------------------------------
    merges = train_fast(text, VOCAB, "gpt4")
    ours = ByteLevelBPE.from_merges(merges, "gpt4")
    plain = ByteLevelBPE.from_merges(merges, "gpt4", memo_size=0)
    hf = hf_with_our_merges(ours)
    tk = tiktoken.Encoding(name="ours-gpt4-512", pat_str=GPT4_PATTERN,
                           mergeable_ranks=ours.mergeable_ranks(), special_tokens={})
    split = compile_pattern("gpt4")
    chunks = line_chunks(text)

    def memoised() -> list[int]:
        ours.memo.clear()  # cold: every hit comes from a repeat inside the corpus itself
        return ours.encode(text)

    def hf_ids() -> list[int]:  # its fastest batch path (no offsets), on up to 2 threads
        return [i for e in hf.encode_batch_fast(chunks) for i in e.ids]

    ids = memoised()
    same = {"unmemoised": plain.encode(text) == ids, "tokenizers": hf_ids() == ids,
            "tiktoken": tk.encode_ordinary(text) == ids}
    pieces = split.findall(text)
    distinct = len(set(pieces))
    report(f"encoding the corpus, GPT-4 split, our V = {VOCAB} merges: {len(pieces):,} pre-tokens, "
           f"{distinct:,} distinct; {len(ids):,} tokens, {n_bytes / len(ids):.2f} bytes/token; memo bound "
           f"{MEMO_SIZE:,} entries, {len(ours.memo):,} used")
    record["encoding"] = {"pre_tokens": len(pieces), "distinct_pre_tokens": distinct, "tokens": len(ids),
                          "memo_size": MEMO_SIZE, "memo_used": len(ours.memo), "same_ids": same}

    def speed(seconds: float) -> float:
        return mb / seconds

    p = interleaved(lambda: split.findall(text), memoised, PAIRS)
    regex_mb_s, ours_mb_s = speed(p.median_a), speed(p.median_b)
    report(f"regex pass alone: {regex_mb_s:.2f} MB/s; ours, memoised: {ours_mb_s:.2f} MB/s; "
           f"the regex pass is {p.ratio:.0%} of our encoding time")
    report(f"  pairs, {times(p, 'regex', 'ours')}")
    record["encoding"]["regex_vs_ours"] = {**p.as_dict(), "regex_mb_s": regex_mb_s, "ours_mb_s": ours_mb_s}

    p = interleaved(lambda: plain.encode(text), memoised, PAIRS)
    report(f"ours, every pre-token merged afresh: {speed(p.median_a):.2f} MB/s; memoised "
           f"{speed(p.median_b):.2f} MB/s; memo speed-up {p.ratio:.1f}x, same ids: {same['unmemoised']}")
    report(f"  pairs, {times(p, 'plain', 'memoised')}")
    record["encoding"]["plain_vs_memoised"] = {**p.as_dict(), "plain_mb_s": speed(p.median_a),
                                               "memoised_mb_s": speed(p.median_b)}

    references: list[tuple[str, Callable[[], object], str]] = [
        ("tokenizers", hf_ids, f"tokenizers {version('tokenizers')}, encode_batch_fast on "
                               f"{len(chunks):,} line chunks"),
        ("tiktoken", lambda: tk.encode_ordinary(text), f"tiktoken {version('tiktoken')}, encode_ordinary on the whole text, "
                                                       "one thread"),
    ]
    ours_runs: list[float] = [ours_mb_s]
    for name, run, how in references:
        p = interleaved(memoised, run, PAIRS)
        ours_runs.append(speed(p.median_a))
        report(f"ours {speed(p.median_a):.2f} MB/s against {how}: {speed(p.median_b):.2f} MB/s; "
               f"{name}/ours speed {p.ratio:.2f}x, same ids: {same[name]}")
        report(f"  pairs, {times(p, 'ours', name)}")
        record["encoding"][name] = {**p.as_dict(), "ours_mb_s": speed(p.median_a),
                                    "reference_mb_s": speed(p.median_b), "how": how}

    # the goal is read off the median of our memoised runs across the three comparisons above
    ours_median = sorted(ours_runs)[1]
    met = ours_median >= GOAL_MB_S and all(same.values())
    report(f"goal: ours at least {GOAL_MB_S:g} MB/s with ids identical to both references: "
           f"measured {ours_median:.2f} MB/s, {'met' if met else 'NOT met'}")
    record["goal"] = {"mb_s": GOAL_MB_S, "measured_mb_s": ours_median, "met": met}

    watch.stop()
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report(machine() + f", CPU {platform.processor() or 'not reported'}; run {stamp}")
    report(watch.line().replace("**", ""))
    report(f"  (all three averages at the start: {load_start}; at the end: {load_average()})")
    record.update(date=stamp, machine=machine(), load=watch.as_dict(), load_start=load_start, load_end=load_average())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tokenizers.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS / "tokenizers.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
