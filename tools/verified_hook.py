"""MkDocs hook: the Verified page, every headline measurement the site states.

Read at build time from the results files that the benchmarks write (results/*.md, .json,
.txt) and that the chapters include, and from results/parity.json, which
`python -m benchmarks parity` writes in seconds (the parity tests' maximum differences, with
the versions of the libraries compared against). Each row gives the goal the site states,
whether the run met it, the machine, Python, torch and cross-check library versions, the date
and the page that discusses it. The page states the environment most rows share once, at the
top (a row that differs says so), then the rows with a goal, then chapter by chapter how many
goals it met and, folded (a <details> per chapter, closed), the measurements its pages report
without a goal.

Every results file a page includes (a `--8<-- "results/..."` line) must have rows here:
READERS below says how each one is read. A file that cannot be read as expected is logged as
a warning naming the file, so `mkdocs build --strict` fails instead of showing stale or
missing numbers; tests/site/test_verified.py fails when an included file has no reader.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.verified")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PAGE = "verified.md"
INCLUDE = re.compile(r'--8<--\s+"(results/[^"]+)"')
MACHINE = re.compile(r"Machine: ([^;]+?),\s*(\d+) cores[^;]*?,\s*Python ([\d.]+),\s*torch ([^\s;,]+)", re.I)
DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[T ][\d:]+Z?)?\b")


class ResultsError(ValueError):
    """A results file that does not say what its reader expects."""


@dataclass
class Row:
    measurement: str
    value: str
    goal: str          # as the site states it; "" when the site states the number without a goal
    met: bool | None   # None: no goal
    source: str        # results/<file>
    page: str          # docs page that discusses it, e.g. gpt_family.md
    machine: str = ""
    python: str = ""
    torch: str = ""
    against: str = ""  # the reference and its version
    date: str = ""


# ------------------------------------------------------------------------------ helpers --

def included_results(docs: Path = ROOT / "docs") -> dict[str, list[str]]:
    """results/ files included by each page: {"results/kv_cache.md": ["gpt_family.md"], ...}."""
    found: dict[str, list[str]] = {}
    for page in sorted(docs.rglob("*.md")):
        for name in INCLUDE.findall(page.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(page.relative_to(docs).as_posix())
    return found


def need(pattern: str, text: str, source: str, what: str, flags: int = 0) -> re.Match:
    match = re.search(pattern, text, flags)
    if match is None:
        raise ResultsError(f"{source}: cannot find {what} (pattern {pattern!r}); the results file "
                           "changed its format: update its reader in tools/verified_hook.py")
    return match


@functools.cache
def is_shallow() -> str:
    """"true" in a shallow clone (CI's default checkout), where commit dates would be wrong."""
    return subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT,
                          capture_output=True, text=True, timeout=10).stdout.strip()


def run_date(path: Path, text: str = "") -> str:
    """The date the run recorded; else the commit that last changed the file; else its mtime."""
    stated = DATE.search(text)
    if stated:
        return stated.group(1)
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", str(path)], cwd=ROOT,
                               capture_output=True, text=True, timeout=10)
        shallow = is_shallow()
        if dirty.returncode == 0 and not dirty.stdout.strip() and shallow == "false":
            committed = subprocess.run(["git", "log", "-1", "--format=%cs", "--", str(path)],
                                       cwd=ROOT, capture_output=True, text=True, timeout=10)
            if committed.stdout.strip():
                return committed.stdout.strip() + " (commit)"
    except (OSError, subprocess.SubprocessError):
        pass
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d") + " (file)"


def machine_line(text: str, source: str) -> tuple[str, str, str]:
    match = need(MACHINE.pattern, text, source, "the machine line (Machine: ..., Python ..., torch ...)",
                 re.I)
    # a sentence may end right after the version: "torch 2.13.0+cpu."
    return f"{match.group(1)}, {match.group(2)} cores", match.group(3), match.group(4).rstrip(".")


def table(text: str, source: str, index: int = 0) -> list[dict[str, str]]:
    """The first (or the index-th) Markdown pipe table in text, one dict per row keyed by header
    (bold removed)."""
    lines = [line.strip() for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines[:-1])
              if line.startswith("|") and re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", lines[i + 1])]
    if len(starts) <= index:
        raise ResultsError(f"{source}: no table" if index == 0 else f"{source}: no table number {index + 1}")
    start = starts[index]

    def cells(line: str) -> list[str]:
        return [c.strip().replace("**", "") for c in line.strip("|").split("|")]

    header: list[str] = []
    for name in cells(lines[start]):  # a repeated header gets a number: "centred", "centred (2)"
        header.append(name if name not in header else f"{name} ({sum(h.split(' (')[0] == name for h in header) + 1})")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, cells(line))))
    return rows


def row_where(rows: list[dict[str, str]], column: str, starts: str, source: str) -> dict[str, str]:
    for row in rows:
        if row.get(column, "").startswith(starts):
            return row
    raise ResultsError(f"{source}: no row whose {column!r} starts with {starts!r}; the results "
                       "file changed its format: update its reader in tools/verified_hook.py")


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("x%").strip())


def ratio(text: str) -> float:
    return float(text.replace(",", "").rstrip("x*").strip("*"))


# ------------------------------------------------------------------------------ readers --

def read_parity(path: Path, source: str) -> list[Row]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for check in data["checks"]:
        unit = check.get("unit") or ""
        value = check["max_abs_diff"]
        shown = f"{value:.2g}" if value else "0"
        library = check["against"].split()[0].split(".")[0]
        version = data.get("libraries", {}).get(library) or (data["torch"] if library == "torch" else "")
        rows.append(Row(
            check["name"], f"max |difference| {shown}" + (f" {unit}" if unit else ""),
            f"≤ {check['goal']:g}" if check["goal"] else "0 (exact)", bool(check["met"]), source, check["page"],
            data["machine"], data["python"], data["torch"],
            f"{check['against']} {version}".strip(), data["date"][:10]))
    if not rows:
        raise ResultsError(f"{source}: no checks")
    return rows


def read_kv_cache(path: Path, source: str) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    machine, python, torch = machine_line(text, source)
    rows = []
    for batch, speed, same in re.findall(r"^\|\s*(\d+)\s*\|[^|]*\|[^|]*\|\s*\*{0,2}([\d.]+)x\*{0,2}\s*\|\s*(\w+)\s*\|",
                                         text, re.M):
        rows.append(Row(f"KV-cache generation speed-up over recomputing, batch {batch}",
                        f"{speed}x, same tokens: {same}", "> 1x, identical tokens",
                        float(speed) > 1 and same == "yes", source, "", machine, python, torch,
                        "our GPT without the cache"))
    if not rows:
        raise ResultsError(f"{source}: no batch rows in the table")
    return rows


def read_char_vs_bpe(path: Path, source: str) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    machine, python, torch = machine_line(text, source)
    char = need(r"^\|\s*characters\s*\|.*\*\*([\d.]+)\*\*", text, source, "the characters row", re.M)
    bpe = need(r"^\|\s*byte-level BPE[^|]*\|.*\*\*([\d.]+)\*\*", text, source, "the BPE row", re.M)
    c, b = float(char.group(1)), float(bpe.group(1))
    return [Row("Bits per character on held-out text, byte-level BPE (V = 512) against characters",
                f"{b:.3f} against {c:.3f}", "BPE lower (as the page reads it)", b < c, source, "",
                machine, python, torch, "")]


def read_train_shakespeare(path: Path, source: str) -> list[Row]:
    data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) \
        if path.suffix == ".md" else json.loads(path.read_text(encoding="utf-8"))
    text = path.with_suffix(".md").read_text(encoding="utf-8")
    m = data["machine"]
    machine, python, torch = f"{m['cpu']}, {m['cores']} cores", m["python"], m["torch"]
    reference = data["reference"]["source"]
    target = data["target"]
    ratios = data["ratios"]
    fast = data["fast"]
    generation = data["generation"]
    base = dict(source=source, page="", machine=machine, python=python, torch=torch)
    need(r"Training throughput, ours / reference", text, source, "the throughput line")
    # The benchmark runs each arm once; a file with repeats records them as "pairs".
    once = "" if data.get("pairs") else ", one run each"
    ref = data["reference"]
    compare = data.get("compare_target", 1.89)
    rows = [
        Row("Training throughput on the reference recipe, ours / nanoGPT (median steps)",
            f"{ratios['throughput_vs_reference']:.2f}x{once}", "≥ 1.1x",
            ratios["throughput_vs_reference"] >= 1.1, against=reference, **base),
        Row(f"Time from the first step to validation loss {compare} (a loss both runs reach), "
            f"the fast recipe / nanoGPT's recipe",
            f"{ratios['time_to_compare_target_vs_reference']:.2f}{once}", "≤ 0.5",
            ratios["time_to_compare_target_vs_reference"] <= 0.5, against=reference, **base),
    ]
    if "muon_time_vs_adamw_recipe" in ratios:
        rows.append(Row(f"The same time, the fast recipe (Muon) / the AdamW recipe: the ablation of Muon",
                        f"{ratios['muon_time_vs_adamw_recipe']:.2f}{once}", "< 1",
                        ratios["muon_time_vs_adamw_recipe"] < 1, against="", **base))
    return rows + [
        Row(f"Validation loss of the fast recipe on 200 fixed batches",
            f"{fast['val_loss_final']:.3f}{once}", f"≤ {target}", fast["val_loss_final"] <= target,
            against="", **base),
        Row("Validation loss on 200 fixed batches, ours / nanoGPT on the same recipe",
            f"{data['baseline']['val_loss_final']:.3f} / {data['reference']['val_loss_final']:.3f}{once}",
            "", None, against=reference, **base),
        Row("Generation with the KV cache inside the 64-token window, batch 1",
            f"{generation['speedup']:.2f}x{once}", "> 1x", generation["speedup"] > 1, against="", **base),
    ]


def sidecar_json(path: Path, source: str) -> dict:
    """The .json a benchmark writes beside the results file a page includes."""
    if not path.with_suffix(".json").exists():
        raise ResultsError(f"{source}: {path.with_suffix('.json').name} is missing beside it: "
                           "run its benchmark again")
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def read_tokenizers(path: Path, source: str) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    data = sidecar_json(path, source)
    need(r"goal: ours at least [\d.]+ MB/s", text, source, "the goal line")
    machine, python, torch = machine_line(text, source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    base = dict(source=source, page="", machine=machine, python=python, torch=torch, date=data["date"][:10])
    versions, enc, goal = data["versions"], data["encoding"], data["goal"]
    slice_, corpus = data["trainer_slice"], data["trainer_corpus"]
    rows = [
        Row(f"BPE trainer, naive / fast, first {slice_['chars']:,} characters, V = {data['vocab']}",
            f"{slice_['ratio_median']:.1f}x faster{busy}", "identical merges", slice_["identical_merges"],
            against="our naive trainer", **base),
        Row("BPE trainer time, ours / tokenizers, whole corpus", f"{corpus['ratio_median']:.1f}x{busy}", "", None,
            against=f"tokenizers {versions['tokenizers']}", **base),
        Row("Encoding speed, GPT-4 split, regex pass alone", f"{enc['regex_vs_ours']['regex_mb_s']:.2f} MB/s{busy}",
            "", None, against="", **base),
        Row("Encoding speed, GPT-4 split, ours with the pre-token memo (tiny Shakespeare)",
            f"{goal['measured_mb_s']:.2f} MB/s{busy}", f"≥ {goal['mb_s']:g} MB/s, ids identical to both references",
            bool(goal["met"]), against="", **base),
        Row("Encoding speed-up of the pre-token memo", f"{enc['plain_vs_memoised']['ratio_median']:.1f}x, "
            f"same ids: {enc['same_ids']['unmemoised']}{busy}", "identical ids", enc["same_ids"]["unmemoised"],
            against="our encoder without the memo", **base),
    ]
    for name in ("tokenizers", "tiktoken"):
        rows.append(Row(f"Encoding speed, {name} / ours, our merges", f"{enc[name]['ratio_median']:.2f}x "
                        f"({enc[name]['reference_mb_s']:.2f} against {enc[name]['ours_mb_s']:.2f} MB/s), "
                        f"same ids: {enc['same_ids'][name]}{busy}", "identical ids", enc["same_ids"][name],
                        against=f"{name} {versions[name]}", **base))
    return rows


def read_seq2seq_toy(path: Path, source: str) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    if placeholder(text):
        return not_yet(source)
    data = sidecar_json(path, source)
    need(r"Held-out exact match \| \*\*[\d.]+%\*\*", text, source, "the exact-match row")
    machine, python, torch = machine_line(text, source)
    goal = data["goal"]
    busy = " (machine busy)" if data["load"]["busy"] else ""
    return [Row("Toy reversal task, held-out exact match of the chapter-3 encoder-decoder, and wall time",
                f"{data['held_out_exact_match']:.2%} of {data['held_out_strings']:,} strings in "
                f"{data['wall_s']:.0f} s{busy}", f"≥ {goal['accuracy']:.0%} within {goal['seconds']:.0f} s on 2 cores",
                bool(goal["met"]), source, "", machine, python, torch, "", data["date"][:10])]


GENERATION_GOALS = {
    "cache_vs_recompute_gpt2_b1": ("KV-cache speed-up over recomputing the prefix, GPT-2-small shape, batch 1", "x"),
    "vs_transformers_b1": ("Greedy generation, ours / transformers generate, batch 1 (the slower of two shapes)", "x"),
    "vs_transformers_b8": ("Greedy generation, ours / transformers generate, batch 8 (the slower of two shapes)", "x"),
    "fraction_of_bound_gpt2_b1": ("Cached tokens/s against the rate its weights are read at / their bytes, GPT-2-small shape, batch 1", ""),
}


def read_generation(path: Path, source: str) -> list[Row]:
    data = sidecar_json(path, source)
    machine, python, torch = machine_line(path.read_text(encoding="utf-8"), source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    rows = []
    for key, (label, unit) in GENERATION_GOALS.items():
        goal = data["goals"][key]
        value = f"{goal['measured']:.2f}{unit}" if unit else f"{goal['measured']:.0%}"
        target = f"≥ {goal['goal']:.2f}{unit}" if unit else f"≥ {goal['goal']:.0%}"
        against = f"transformers {data['transformers']}" if "transformers" in key else ""
        rows.append(Row(label, value + busy, target, bool(goal["met"]), source, "", machine, python,
                        torch, against))
    return rows


def read_speculative(path: Path, source: str) -> list[Row]:
    data = sidecar_json(path, source)
    machine, python, torch = machine_line(path.read_text(encoding="utf-8"), source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    rows = data["rows"]
    best = max(rows, key=lambda r: r["speedup"])
    same = sum(r["same_tokens"] for r in rows)
    runs = sum(r["prompts"] for r in rows)
    layers = data["configs"]["draft"]["n_layers"], data["configs"]["target"]["n_layers"]
    return [Row(f"Greedy speculative decoding over plain decoding, {layers[0]}-layer draft for a "
                f"{layers[1]}-layer target, best γ",
                f"{best['speedup']:.2f}x at γ = {best['gamma']}, same tokens in {same} of {runs} runs{busy}",
                f"≥ {data['goal_speedup']:.2f}x, identical tokens",
                best["speedup"] >= data["goal_speedup"] and same == runs, source, "", machine, python, torch)]


def read_roofline(path: Path, source: str) -> list[Row]:
    data = sidecar_json(path, source)
    machine, python, torch = machine_line(path.read_text(encoding="utf-8"), source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    base = dict(source=source, page="", machine=machine, python=python, torch=torch)
    decode = [p for p in data["points"] if p["phase"] == "decode" and "speedup_vs_batch_1" in p]
    widest = max(decode, key=lambda p: p["batch"])
    return [Row("This machine's roofline: peak float32 matrix product, read bandwidth",
                f"{data['peak_flops'] / 1e9:.1f} GFLOP/s, {data['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s "
                f"(ridge {data['ridge']:.1f} FLOP/byte){busy}", "", None, **base),
            Row(f"GPT-2 small decoding, tokens/s at batch {widest['batch']} over batch 1",
                f"{widest['speedup_vs_batch_1']:.1f}x{busy}", "", None, **base)]


def read_continuous_batching(path: Path, source: str) -> list[Row]:
    data = sidecar_json(path, source)
    machine, python, torch = machine_line(path.read_text(encoding="utf-8"), source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    s = data["servers"]
    same = min(s["same batch"]["same_tokens"], s["equal memory"]["same_tokens"])
    return [Row("Continuous batching over a paged KV cache vs static batching, mixed-length trace, "
                "tokens/s (same batch limit; equal KV memory)",
                f"{s['same batch']['speedup']:.2f}x; {s['equal memory']['speedup']:.2f}x, same tokens in "
                f"{same} of {data['requests']} requests{busy}",
                f"≥ {data['goal_speedup']:.2f}x", data["speedup"] >= data["goal_speedup"], source, "",
                machine, python, torch)]
def read_quantized(path: Path, source: str) -> list[Row]:
    data = sidecar_json(path, source)
    machine, python, torch = machine_line(path.read_text(encoding="utf-8"), source)
    busy = " (machine busy)" if data["load"]["busy"] else ""
    rows = []
    for name in [k for k in data["speed"] if k != "float32"]:
        r = data["speed"][name]
        goal = data["goal_int8_speedup"] if name.startswith("int8") else None
        rows.append(Row(f"Greedy decoding, {name} over float32, GPT-2-small shape, batch 1",
                        f"{r['vs_float32']['ratio_median']:.2f}x{busy}",
                        f"≥ {goal:.2f}x" if goal else "", None if goal is None
                        else r["vs_float32"]["ratio_median"] >= goal, source, "", machine, python, torch))
    base = data["quality"]["val_loss"]["float32"]
    for label, loss in data["quality"]["val_loss"].items():
        if label != "float32":
            rows.append(Row(f"Held-out loss change, {label}, "
                            f"{data['quality']['model']['layers']}-layer character model",
                            f"{loss - base:+.4f} nats/char", "", None, source, "", machine, python,
                            torch))
    return rows


def placeholder(text: str) -> bool:
    """A results file that a chapter includes before its benchmark has first run."""
    return len(text.strip()) < 200 and re.search(r"pending|not written|not run", text, re.I) is not None


def not_yet(source: str) -> list[Row]:
    return [Row(f"Every measurement of `{source}`", "not measured yet: the benchmark has not run",
                "a benchmark run", False, source, "", "—", "—", "—", "")]


def every_row(label: str | None = None, columns: list[str] | None = None, against: str = "",
              tables: int = 1):
    """A reader that lists each row of the file's first table (no goal stated).

    For a results file whose page states its numbers without a goal: each row becomes one
    measurement, named by its `label` column (default: the first), valued by `columns`
    (default: all the others). tables > 1: the file splits its rows' columns over its first
    tables (so that each fits the page), joined here by the label column."""
    def read(path: Path, source: str) -> list[Row]:
        text = path.read_text(encoding="utf-8")
        if placeholder(text):
            return not_yet(source)
        try:
            machine, python, torch = machine_line(text, source)
        except ResultsError:
            machine, python, torch = "not recorded", "not recorded", "not recorded"
        found = table(text, source)
        if not found:
            raise ResultsError(f"{source}: the table has no rows")
        name = label or next(iter(found[0]))
        for more in (table(text, source, i) for i in range(1, tables)):
            if [row.get(name) for row in more] != [row[name] for row in found]:
                raise ResultsError(f"{source}: its tables do not list the same {name!r} rows; "
                                   "update its reader")
            found = [row | extra for row, extra in zip(found, more)]
        wanted = columns or [c for c in found[0] if c != name]
        missing = [c for c in wanted + [name] if c not in found[0]]
        if missing:
            raise ResultsError(f"{source}: no column {missing} in the table; update its reader")
        return [Row(f"{name} {row[name]}" if re.fullmatch(r"[\d.,]+", row[name]) else row[name],
                    "; ".join(f"{c}: {row[c]}" for c in wanted if row[c]), "", None,
                    source, "", machine, python, torch, against) for row in found]
    return read


def with_headline(headline):
    """every_row() plus a headline row with the goal the page states, from the same table."""
    def read(path: Path, source: str) -> list[Row]:
        rows = every_row()(path, source)
        if rows and rows[0].value.startswith("not measured yet"):
            return rows
        first = rows[0]
        top = headline(table(path.read_text(encoding="utf-8"), source), source)
        top.machine, top.python, top.torch = first.machine, first.python, first.torch
        return [top, *rows]
    return read


def retrieval_headline(rows: list[dict[str, str]], source: str) -> Row:
    minilm, bm25 = (row_where(rows, "Retriever", name, source) for name in ("MiniLM", "BM25"))
    a, b = number(minilm["recall@10"]), number(bm25["recall@10"])
    return Row("Question-to-answer retrieval, recall@10: MiniLM against BM25", f"{a:.3f} against {b:.3f}",
               "MiniLM ahead (the page: \"MiniLM wins by a wide margin\")", a > b, source, "",
               against="")


def hnsw_headline(rows: list[dict[str, str]], source: str) -> Row:
    row = row_where(rows, "ef", "64", source)   # the first table: MiniLM's token vectors
    ours, ref = number(row["ours recall@10"]), number(row["hnswlib recall@10"])
    return Row("HNSW recall@10 at ef = 64 on 20,000 MiniLM token vectors: ours against hnswlib, same M and "
               "efConstruction", f"{ours:.3f} against {ref:.3f}", "at least 0.95, and within 0.02 of hnswlib",
               ours >= 0.95 and abs(ours - ref) <= 0.02, source, "", against="hnswlib")


def read_retrieval_ann(path: Path, source: str) -> list[Row]:
    """The recall headline (the grid of every ef is on the page), then the two speed goals of the
    chapter-7 page: at the headline setting, our HNSW within 4x hnswlib's query time and our IVF
    within 3x faiss's (medians of interleaved pairs, same recall)."""
    rows = with_headline(hnsw_headline)(path, source)[:1]   # the grid itself is on the page
    real = next(s for s in sidecar_json(path, source) if s["name"].startswith("MiniLM"))
    hnsw = next(h for h in real["hnsw"] if h["ef"] == 64)
    ivf = next(v for v in real["ivf"] if v["nprobe"] == 16)
    first = rows[0]
    for name, value, bound, against in (
            ("HNSW query time at ef = 64 on 20,000 MiniLM token vectors, ours over hnswlib's",
             hnsw["ratio"], 4.0, "hnswlib"),
            ("IVF query time at nprobe = 16 on 20,000 MiniLM token vectors, ours over faiss's",
             ivf["ratio"], 3.0, "faiss")):
        rows.insert(1, Row(name, f"{value:.1f}x", f"at most {bound:.0f}x", value <= bound, source, "",
                           first.machine, first.python, first.torch, against=against))
    return rows


def grpo_headline(rows: list[dict[str, str]], source: str) -> Row:
    """Issue 28's goal: GRPO beats the same steps of more SFT by a clear margin on every seed."""
    grpo = row_where(rows, "Arm", "GRPO, β = 0.04", source)
    sft = row_where(rows, "Arm", "more SFT", source)
    gains = [float(x.strip().rstrip("%")) for x in grpo["Change per seed"].split(",")]
    base = [float(x.strip().rstrip("%")) for x in sft["Change per seed"].split(",")]
    margins = [g - b for g, b in zip(gains, base, strict=True)]
    return Row("GRPO (β = 0.04) over the same 200 steps of more SFT, held-out accuracy on 2-digit "
               "addition, change per seed", f"{', '.join(f'{m:+.1f}' for m in margins)} points",
               "a clear margin (at least 3 points) on every one of 3 seeds",
               min(margins) >= 3.0, source, "")


def compression_headline(rows: list[dict[str, str]], source: str) -> Row:
    pq = [r for r in rows if r["Method"].startswith("PQ,")]
    if not pq:
        raise ResultsError(f"{source}: no PQ rows; update its reader in tools/verified_hook.py")
    gaps = [abs(number(r["Recall@10"]) - number(r["faiss, same settings"])) for r in pq]
    return Row(f"Product quantisation recall@10 on 20,000 MiniLM vectors, ours against faiss.IndexPQ trained "
               f"separately, M = {pq[0]['Method'].split('= ')[1]} to {pq[-1]['Method'].split('= ')[1]}",
               f"largest gap {max(gaps):.3f}", "within 0.01 of faiss at every M", max(gaps) <= 0.01,
               source, "", against="faiss")


def bert_mlm_headline(rows: list[dict[str, str]], source: str) -> Row:
    model = row_where(rows, "Model", "mini-BERT, warm-up", source)
    guess = row_where(rows, "Model", "always", source)
    a, b = number(model["Held-out masked accuracy"]), number(guess["Held-out masked accuracy"])
    return Row("Mini-BERT held-out masked-token accuracy against always guessing the most "
               "frequent piece", f"{a:.2f}% against {b:.2f}% ({a / b:.1f}x)",
               "at least 2.5x the guess (the page's goal)", a >= 2.5 * b, source, "")


def summary_rows(*labels: str, prefix: str = ""):
    """every_row(), kept to the rows whose label starts with one of labels (a per-position
    table's totals, say), each named with prefix."""
    def read(path: Path, source: str) -> list[Row]:
        rows = every_row()(path, source)
        if rows and rows[0].value.startswith("not measured yet"):
            return rows
        kept = [r for r in rows if r.measurement.startswith(labels)]
        if len(kept) != len(labels):
            raise ResultsError(f"{source}: expected rows {labels}, found "
                               f"{[r.measurement for r in rows]}; update its reader")
        for r in kept:
            r.measurement = prefix + r.measurement
        return kept
    return read


def only_rows(*labels: str, columns: list[str] | None = None):
    """every_row(columns), kept to the rows whose label is exactly one of labels: for a results
    grid whose page reads a few of its rows."""
    def read(path: Path, source: str) -> list[Row]:
        rows = every_row(columns=columns)(path, source)
        if rows and rows[0].value.startswith("not measured yet"):
            return rows
        kept = [r for r in rows if r.measurement in labels]
        if len(kept) != len(labels):
            raise ResultsError(f"{source}: expected rows {labels}, found "
                               f"{[r.measurement for r in rows]}; update its reader")
        return kept
    return read


def read_compression(path: Path, source: str) -> list[Row]:
    """The PQ-against-faiss headline, then the rows the page reads: each kind of code once."""
    top, *rows = with_headline(compression_headline)(path, source)
    keep = ("float32, exact", "int8 scalar", "PQ, M = 8", "PQ, M = 96", "binary, 100 rescored by float32")
    return [top, *[r for r in rows if r.measurement in keep]]


# One reader per results file: the name as pages include it -> the function that reads it.
READERS = {
    "results/parity.json": read_parity,
    "results/kv_cache.md": read_kv_cache,
    "results/generation.md": read_generation,
    "results/char_vs_bpe.md": read_char_vs_bpe,
    "results/train_shakespeare.md": read_train_shakespeare,
    "results/tokenizers.txt": read_tokenizers,
    "results/seq2seq_toy.md": read_seq2seq_toy,
    "results/speculative.md": read_speculative,
    "results/roofline.md": read_roofline,
    "results/continuous_batching.md": read_continuous_batching,
    "results/quantized.md": read_quantized,
    # Chapters 1, 4, 7 and 8: every row of each table, until their headline goals are declared.
    "results/bert_cost.md": every_row(),
    "results/bert_finetune.md": every_row(),
    "results/bert_mlm.md": with_headline(bert_mlm_headline),
    "results/bert_nsp_sop.md": every_row(),
    "results/embeddings_anisotropy.md": only_rows("MiniLM, 0", "MiniLM, 6", "mini-BERT, MLM only, 2"),
    "results/embeddings_methods.md": every_row(),
    "results/embeddings_optimizers.md": every_row(),
    "results/embeddings_word2vec.md": every_row(),
    "results/finetune_cost.md": every_row(tables=2),
    "results/finetune_cost_gpt.md": every_row(tables=2),
    "results/finetune_dpo.md": every_row(),
    "results/finetune_forgetting.md": every_row(),
    "results/finetune_validation.md": every_row(),
    "results/retrieval_ann.md": read_retrieval_ann,
    "results/retrieval_compression.md": read_compression,
    "results/retrieval_rerank.md": every_row(),
    "results/train_features.md": every_row(),
    "results/retrieval_qa.md": with_headline(retrieval_headline),
    "results/rnn_bottleneck.md": every_row(),
    "results/rnn_bottleneck_positions.md": summary_rows(
        "all tokens", "whole string", prefix="Reversal of 15 digits, held-out accuracy: "),
    "results/rnn_depth.md": every_row(),
    "results/rnn_truncation.md": every_row(),
    "results/rnn_vs_gpt.md": every_row(),
    "results/mqar.md": every_row(),
    "results/llama_vs_gpt.md": every_row(),
    "results/moe_vs_dense.md": every_row(),
    "results/rope_extension.md": every_row(),
    "results/qk_norm.md": every_row(),
    "results/nope.md": every_row(),
    "results/attention_sinks.md": every_row(),
    "results/grpo.md": with_headline(grpo_headline),
    "results/bytes_vs_bpe.md": every_row(columns=["Context (tokens)", "Training FLOPs", "Bits per byte"]),
    # The RAG benchmark's grids: the rows its page reads, not every cell of every grid.
    "results/rag_chunking.md": summary_rows("fixed, 64 words", "sentence, 64 words", prefix="RAG chunking: "),
    "results/rag_retrievers.md": every_row(columns=["hit@3", "EM"]),
    "results/rag_distraction.md": summary_rows("random, 4", "hard, 4", prefix="RAG reader, 4 distractors: "),
    "results/rag_intervals.md": summary_rows(
        "sentence - fixed, 64 words, hit@3", "MiniLM - BM25, EM", "4 hard distractors - none, EM",
        prefix="RAG, paired difference: "),
    "results/retrieval_matryoshka.md": only_rows("plain truncation", "PCA rotation", "Matryoshka",
                                                  columns=["16", "64", "384"]),
    "results/retrieval_cross_encoder.md": only_rows("bi-encoder", "bi-encoder, then MaxSim",
                                                     "bi-encoder, then cross-encoder", columns=["recall@10", "nDCG@10"]),
    "results/masked_diffusion.md": every_row(),
    "results/finetune_stability.md": only_rows("AdamW (bias-corrected)", "BertAdam (no bias correction)",
                                               "BertAdam, no warm-up",
                                               columns=["Test accuracy, mean of 6 seeds", "Runs that did not train"]),
}
# Pages that discuss a file that no page includes (parity.json: each check names its page).
PAGES = {"results/parity.json": ""}


def collect(root: Path = ROOT) -> tuple[list[Row], list[str]]:
    """Every row, and a problem message per results file that could not be read."""
    included = included_results(root / "docs")
    rows: list[Row] = []
    problems: list[str] = []
    for source, reader in READERS.items():
        path = root / source
        if not path.exists():
            problems.append(f"{source} is missing: run `python -m benchmarks` (make bench)")
            continue
        try:
            found = reader(path, source)
        except (ResultsError, KeyError, ValueError, TypeError) as error:
            problems.append(str(error) if isinstance(error, ResultsError)
                            else f"{source}: cannot read {error!r}; update its reader")
            continue
        date = run_date(path, path.read_text(encoding="utf-8") if path.suffix != ".json" else "")
        for row in found:
            row.page = row.page or (included.get(source) or [PAGES.get(source, "")])[0]
            row.date = row.date or date
        rows += found
    return rows, problems


def unread(root: Path = ROOT) -> list[str]:
    """Messages for results files that pages include but no reader reads (the test fails)."""
    included = included_results(root / "docs")
    messages = []
    for source in sorted(set(included) - set(READERS)):
        messages.append(f"{source} is included by {', '.join(included[source])} but has no reader "
                        "in tools/verified_hook.py READERS, so the Verified page omits it")
    return messages


# --------------------------------------------------------------------------------- page --

@dataclass(frozen=True)
class Environment:
    """Where and when a row ran; the page states the most common one once."""
    machine: str
    python: str
    torch: str
    date: str  # YYYY-MM-DD


def common_environment(rows: list[Row]) -> Environment:
    """The machine, versions and day shared by most rows (each counted on its own)."""
    measured = [r for r in rows if r.machine != "—"]
    if not measured:
        return Environment("—", "—", "—", "—")

    def most(values: list[str]) -> str:
        return max(sorted(set(values)), key=values.count)

    return Environment(most([r.machine for r in measured]), most([r.python for r in measured]),
                       most([r.torch for r in measured]), most([r.date[:10] for r in measured]))


def exception(row: Row, usual: Environment) -> str:
    """What differs in this row from the environment stated at the top ("" when nothing)."""
    if row.machine == "—":
        return ""
    if row.machine == "not recorded":
        setting = "machine and versions not recorded"
    else:
        setting = ", ".join(text for same, text in [
            (row.machine == usual.machine, f"ran on {row.machine}"),
            (row.python == usual.python, f"Python {row.python}"),
            (row.torch == usual.torch, f"torch {row.torch}")] if not same)
    day = "" if row.date[:10] == usual.date else f"dated {row.date}"
    return "; ".join(part for part in (setting, day) if part)


def chapters(nav) -> list[tuple[str, str]]:
    """(entry page, title) of each chapter in nav order: the sections whose first entry is an
    "Overview" page, e.g. ("gpt_family.md", "5. The GPT family")."""
    found = []
    for entry in nav if isinstance(nav, list) else []:
        if isinstance(entry, dict):
            for title, value in entry.items():
                if isinstance(value, list) and value and isinstance(value[0], dict) \
                        and isinstance(value[0].get("Overview"), str):
                    found.append((value[0]["Overview"], title))
    return found


def chapter_of(page: str) -> str:
    """The entry page of the chapter a page belongs to: gpt_family/kv-cache.md -> gpt_family.md."""
    return page.split("/")[0].removesuffix(".md") + ".md" if page else ""


def cell(text: str) -> str:
    """A table cell: pipes escaped, one line, and an exponent's sign as a minus (U+2212), which a
    browser does not break a line after, as it does after a hyphen (1.1e-16 wrapped as 1.1e- 16)."""
    text = re.sub(r"(\d)e-(\d)", "\\1e\u2212\\2", str(text))
    return text.replace("|", "\\|").replace("\n", " ")


def source_cell(row: Row, titles: dict[str, str], usual: Environment) -> str:
    """The page and the results file, and what differs from the stated environment."""
    page = f"[{titles.get(row.page, row.page)}]({row.page})<br>" if row.page else ""
    differs = exception(row, usual)
    return f"{page}`{row.source}`" + (f'<br><em class="verified-env">{differs}</em>' if differs else "")


def goals_table(rows: list[Row], usual: Environment, titles: dict[str, str]) -> list[str]:
    lines = ['<div class="verified-table verified-goals" markdown>', "",
             "| Measurement | Measured | Goal | Met | Checked against | Page and source |",
             "|---|---|---|:---:|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(cell(x) for x in [
            r.measurement, r.value, r.goal, "yes" if r.met else "**no**",
            r.against or "—", source_cell(r, titles, usual)]) + " |")
    return lines + ["", "</div>", ""]


def measurements_table(rows: list[Row], usual: Environment, titles: dict[str, str]) -> list[str]:
    lines = ['<div class="verified-table verified-rows" markdown>', "",
             "| Measurement | Value | Checked against | Page and source |", "|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(cell(x) for x in [
            r.measurement, r.value, r.against or "—", source_cell(r, titles, usual)]) + " |")
    return lines + ["", "</div>", ""]


def page_markdown(rows: list[Row], titles: dict[str, str],
                  chapter_list: list[tuple[str, str]] | None = None) -> str:
    """The Verified page: the environment once, the stated goals, then each chapter's rows.

    titles maps a page to its nav title; chapter_list is chapters(nav), in reading order."""
    chapter_list = chapter_list or []
    titles = {**titles, **dict(chapter_list)}  # an overview page is named by its chapter
    order = {entry: i for i, (entry, _) in enumerate(chapter_list)}
    rows = sorted(rows, key=lambda r: order.get(chapter_of(r.page), len(order)))  # stable
    parity = [r for r in rows if r.source == "results/parity.json"]
    bench = sorted({r.date[:10] for r in rows if r.source != "results/parity.json"})
    bench_run = RESULTS / "bench_run.json"
    if bench_run.exists():
        full = json.loads(bench_run.read_text(encoding="utf-8")).get("date", "")[:10]
        bench_text = f"The last full `make bench` ran on {full}."
    elif bench:
        bench_text = (f"The other rows come from `make bench`, whose results files were last written "
                      f"between {bench[0]} and {bench[-1]}." if bench[0] != bench[-1] else
                      f"The other rows come from `make bench`, whose results files were last written "
                      f"on {bench[0]}.")
    else:
        bench_text = ""
    pending = sorted({r.source for r in rows if r.value.startswith("not measured yet")})
    measured = [r for r in rows if r.source not in pending]
    met = sum(r.met is True for r in measured)
    goals = [r for r in rows if r.met is not None]
    usual = common_environment(rows)
    lines = [
        "# Verified",
        "",
        "Every headline measurement this site states, read when the site is built from the results "
        "files that the benchmarks write and the chapters include: the goal the page states, whether "
        "the run met it, what it was checked against, and the page that discusses it. Nothing here is "
        "typed by hand; a benchmark run rewrites the files and the next build rewrites this page.",
        "",
        f"**{met} of {sum(r.met is not None for r in measured)}** stated goals are met"
        + (f"; {sum(r.met is None for r in measured)} rows are measurements the pages report without "
           "a goal" if any(r.met is None for r in measured) else "")
        + (f"; {len(pending)} results files that pages include have not been measured yet "
           f"({', '.join(f'`{p}`' for p in pending)})" if pending else "") + "."
        + (f" The {len(parity)} parity rows (the maximum differences behind the parity tests) are "
           f"regenerated by `python -m benchmarks parity`, in seconds, on every deploy; this run is "
           f"dated {parity[0].date}." if parity else "")
        + (f" {bench_text}" if bench_text else ""),
        "",
        '!!! info "Where and when: one environment, unless a row says otherwise"',
        f"    Every row ran on **{usual.machine}** with **Python {usual.python}** and "
        f"**torch {usual.torch}**, and is dated **{usual.date}**; a row that ran elsewhere, with "
        "other versions or on another day says so under its results file. Dates are those the run "
        "recorded; where a results file records none, the date of the commit that last changed it "
        "(marked *commit*), or of the file itself (*file*). Machines are shared and timings move with "
        "the load; the results files give the load average of each run, and ratios measured in one "
        "run are steadier than absolute times.",
        "",
        "## Stated goals",
        "",
        f"The {len(goals)} measurements for which a page states a goal, in chapter order.",
        "",
        *goals_table(goals, usual, titles),
    ]
    grouped: dict[str, list[Row]] = {}
    for r in rows:
        grouped.setdefault(chapter_of(r.page), []).append(r)
    for entry in [e for e, _ in chapter_list if e in grouped] + [e for e in grouped if e not in order]:
        in_chapter = grouped[entry]
        stated = [r for r in in_chapter if r.met is not None]
        others = [r for r in in_chapter if r.met is None]
        lines += [f"## {dict(chapter_list).get(entry, 'Other pages')}", ""]
        if stated:
            lines += [f"{sum(r.met is True for r in stated)} of {len(stated)} stated "
                      f"goal{'s' if len(stated) != 1 else ''} met (in [the table of goals](#stated-goals))"
                      + ("; the measurements its pages report without a goal:" if others else "."), ""]
        if others:
            # folded, so that a phone shows the chapters at a glance; a link to the group's id
            # opens it (Material opens a closed <details> that holds the link's target)
            lines += [f'<details class="verified-group" id="{group_id(entry)}" markdown>',
                      f"<summary>{len(others)} measurement{'s' if len(others) != 1 else ''} "
                      "reported without a goal</summary>", "",
                      *measurements_table(others, usual, titles), "</details>", ""]
    return "\n".join(lines) + "\n"


def group_id(entry: str) -> str:
    """The id of a chapter's folded group of rows: gpt_family.md -> rows-gpt_family."""
    return "rows-" + (entry.removesuffix(".md") or "other")


def nav_titles(entries, found: dict[str, str] | None = None) -> dict[str, str]:
    found = {} if found is None else found
    if isinstance(entries, list):
        for entry in entries:
            nav_titles(entry, found)
    elif isinstance(entries, dict):
        for title, value in entries.items():
            if isinstance(value, str):
                found[value] = title
            else:
                nav_titles(value, found)
    return found


def in_nav(entries, name: str) -> bool:
    return name in nav_titles(entries) or (isinstance(entries, list) and name in entries)


def on_files(files: Files, config) -> Files:
    if not in_nav(config.nav or [], PAGE):
        return files
    rows, problems = collect()
    for problem in problems:
        log.warning("Verified: %s", problem)
    for message in unread():  # tests/site/test_verified.py fails on these; the build goes on
        log.info("Verified: %s", message)
    markdown = page_markdown(rows, nav_titles(config.nav or []), chapters(config.nav or []))
    files.append(File.generated(config, PAGE, content=markdown))
    return files
