"""The figures of chapters 5-9 show what their captions say, and every section page has one.

Each figure module in figures/ is imported as tools/figures_hook.py imports it; the tests read
the data it plots (its helper functions, or the artists of the Figure draw() returns) and check
it against the library or the stored results it claims to show.
"""

import importlib.util
import itertools
import math
import re
from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.patches import Arc, Rectangle  # noqa: E402

from snippets.results import load  # noqa: E402
from tools.pageblocks import DOCS, ROOT  # noqa: E402

def figure_module(name: str):
    spec = importlib.util.spec_from_file_location(f"figures.{name}", ROOT / "figures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def drawn(request):
    """draw() of the named figure, closed after the test."""
    figures = []

    def draw(name: str):
        module = figure_module(name)
        figures.append(module.draw())
        return module, figures[-1]

    yield draw
    for figure in figures:
        plt.close(figure)


FIGURES = ("gpt_kv_cache_filling", "gpt_scaling_isoflop", "tokenization_bpe_merges",
           "tokenization_encoding_speed", "tokenization_unigram_lattice", "tokenization_wordpiece_scores",
           "tokenization_vocabulary_cost", "tokenization_byte_patching",
           "embeddings_window_weights", "embeddings_glove_weight", "embeddings_paired_intervals",
           "finetune_lora_update", "finetune_nf4_levels", "finetune_memory", "finetune_layerwise_lr",
           "training_batch_windows", "training_plateaus", "grpo_curves", "grpo_test_time",
           "quantized_levels", "retrieval_chunking", "retrieval_matryoshka")


@pytest.mark.parametrize("name", FIGURES)
def test_figure_svg_is_the_same_bytes_on_every_build(name):
    from tools.figures_hook import render

    script = ROOT / "figures" / f"{name}.py"
    assert render(script) == render(script)


def markers(ax, marker: str) -> list:
    return [line for line in ax.get_lines() if line.get_marker() == marker and len(line.get_xdata())]


# ------------------------------------------------------------------------- GPT chapter --

def test_kv_cache_figure_shows_generate_computing_one_position_a_step_until_the_window_slides(drawn):
    module, fig = drawn("gpt_kv_cache_filling")
    P, N, W = module.PROMPT, module.NEW, module.CONTEXT
    recompute, cached = module.traffic(False), module.traffic(True)
    computed = lambda grid: (grid == module.COMPUTED).sum(axis=1).tolist()  # noqa: E731
    # without a cache every step runs its whole window; with one, one position until it is full
    assert computed(recompute) == [min(P + k, W) for k in range(N)]
    assert computed(cached) == [P] + [1] * (W - P) + [W] * (N - 1 - (W - P))
    # a cached step reads exactly the positions computed before it, while the window lasts
    for k in range(1, W - P + 1):
        assert (cached[k] == module.READ).sum() == P + k - 1
    page = (DOCS / "gpt_family" / "kv-cache.md").read_text(encoding="utf-8")
    assert f"context of {W} tokens" in page and f"from the last {W} tokens" in page
    images = [a for ax in fig.axes for a in ax.get_children() if isinstance(a, AxesImage)]
    np.testing.assert_array_equal(images[0].get_array(), recompute)
    np.testing.assert_array_equal(images[1].get_array(), cached)


def test_isoflop_figure_marks_the_minimum_of_each_profile_at_the_fit_optimum(drawn):
    from snippets.models.scaling import chinchilla_optimal, fit_optimal_split

    module, fig = drawn("gpt_scaling_isoflop")
    ax = fig.axes[0]
    circles = [line for line in markers(ax, "o")]
    crosses = [line for line in markers(ax, "x")]
    assert len(circles) == len(crosses) == len(module.BUDGETS)
    grid = np.logspace(7, 13, 4001)
    for flops, circle, cross in zip(module.BUDGETS, circles, crosses):
        n_fit, _ = fit_optimal_split(flops)
        assert circle.get_xdata()[0] == pytest.approx(n_fit)
        assert cross.get_xdata()[0] == pytest.approx(chinchilla_optimal(flops)[0])
        # the marked point is the bottom of the plotted profile
        best = grid[np.argmin(module.profile(flops, grid))]
        assert best == pytest.approx(n_fit, rel=0.01)
        assert n_fit < chinchilla_optimal(flops)[0]  # the caption: left of the 20:1 split


# -------------------------------------------------------------------- tokenization chapter --

def test_bpe_merges_figure_replays_the_trainers_merges_as_the_encoder_applies_them(drawn):
    from snippets.tokenizers.bpe import ByteLevelBPE, train_naive

    module, fig = drawn("tokenization_bpe_merges")
    rows = module.steps()
    merges = train_naive(module.TEXT, 256 + 3, pattern=None)
    for k, (_, tokens) in enumerate(rows):
        assert b"".join(tokens) == module.TEXT.encode()
        encoder = ByteLevelBPE.from_merges(merges[:k], pattern=None)
        assert [encoder.decode_bytes([i]) for i in encoder.encode(module.TEXT)] == tokens
    assert [len(t) for _, t in rows] == [11, 9, 7, 5]  # the classic example's known answer
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(boxes) == sum(len(t) for _, t in rows)


def test_speed_figure_plots_every_stored_encoding_run(drawn):
    module, fig = drawn("tokenization_encoding_speed")
    result = load("tokenizers")
    enc, mb = result["encoding"], result["bytes"] / 1e6
    times = (enc["tiktoken"]["b_s"] + enc["tokenizers"]["b_s"] + enc["regex_vs_ours"]["a_s"]
             + enc["regex_vs_ours"]["b_s"] + enc["plain_vs_memoised"]["a_s"]
             + enc["plain_vs_memoised"]["b_s"] + enc["tokenizers"]["a_s"] + enc["tiktoken"]["a_s"])
    plotted = sorted(x for line in markers(fig.axes[0], "o") for x in line.get_xdata())
    np.testing.assert_allclose(plotted, sorted(mb / t for t in times))
    # the medians the benchmark reports sit inside each row's dots
    rows = module.speeds(result)
    assert min(rows["tiktoken (Rust)"]) <= enc["tiktoken"]["reference_mb_s"] <= max(rows["tiktoken (Rust)"])
    goal = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert goal[0].get_xdata()[0] == result["goal"]["mb_s"]


def test_unigram_lattice_figure_bolds_the_most_probable_segmentation(drawn):
    module, fig = drawn("tokenization_unigram_lattice")
    edges = module.edges()
    assert all(piece in module.PIECES and module.WORD[s:e] == piece for s, e, piece in edges)

    def paths(start: int):  # every segmentation of the word into pieces of the lattice
        if start == len(module.WORD):
            yield []
        for s, e, piece in edges:
            if s == start:
                for rest in paths(e):
                    yield [(s, e, piece)] + rest

    best = max(paths(0), key=lambda path: sum(module.PIECES[p] for _, _, p in path))
    assert module.best_path() == best
    arcs = [a for a in fig.axes[0].patches if isinstance(a, Arc)]
    assert len(arcs) == len(edges)
    assert sum(a.get_linewidth() == 3 for a in arcs) == len(best)


def test_wordpiece_figure_marks_the_pair_the_trainer_merges_first(drawn):
    from snippets.tokenizers.wordpiece import SPECIAL_TOKENS, WORD_PATTERN, PairIndex, join, train_wordpiece
    from snippets.training.corpus import tiny_shakespeare

    module, fig = drawn("tokenization_wordpiece_scores")
    text = tiny_shakespeare()[:module.CHARS]
    rows = module.candidates(text)
    by_ratio = min(rows, key=lambda r: (-r[2], r[0]))
    by_gain = max(rows, key=lambda r: r[3])
    alphabet = {p for parts in PairIndex(Counter(WORD_PATTERN.findall(text))).splits.values() for p in parts}
    vocab = train_wordpiece(text, len(SPECIAL_TOKENS) + len(alphabet) + 1)
    assert vocab[-1] == join(*by_ratio[0])  # the ratio's pick is the trainer's first merge
    assert by_ratio[1] < by_gain[1] / 10    # the caption: a rarer pair against a frequent one
    page = (DOCS / "tokenization" / "wordpiece.md").read_text(encoding="utf-8")
    for pair in (by_ratio[0], by_gain[0]):   # and it names both picks
        assert f"`{pair[0]}` + `{pair[1]}`" in page
    assert len(fig.axes[0].collections[0].get_offsets()) == len(rows)


def test_vocabulary_cost_figure_marks_each_published_config_on_its_own_curve(drawn):
    from snippets.models.vocabulary import PUBLISHED, vocabulary_cost

    module, fig = drawn("tokenization_vocabulary_cost")
    ax = fig.axes[0]
    dots = markers(ax, "o")
    assert len(dots) == len(PUBLISHED)
    for (name, config), dot in zip(PUBLISHED.items(), dots):
        assert dot.get_xdata()[0] == config.vocab_size
        assert dot.get_ydata()[0] == pytest.approx(vocabulary_cost(config).param_share)
        shares = module.curve(name)
        assert all(a < b for a, b in zip(shares, shares[1:]))  # a bigger V always costs more
    # the caption: at V = 128,256 the 8B model pays more than four times the 70B model's share
    at = {n: vocabulary_cost(PUBLISHED[n]).param_share for n in ("Llama 3 8B", "Llama 3 70B")}
    assert at["Llama 3 8B"] > 4 * at["Llama 3 70B"]


# ----------------------------------------------------------------- word embeddings chapter --

def test_byte_patching_figure_darkens_the_bytes_the_patcher_starts_patches_at(drawn):
    from matplotlib.colors import to_hex

    from snippets.tokenizers.byte_patching import global_starts, monotonic_starts

    module, fig = drawn("tokenization_byte_patching")
    patching = load("bytes_vs_bpe")["patching"]
    h = patching["entropies_bits"]
    assert len(h) == len(patching["sentence"].encode())
    # the stored starts are what the library's rules give on the stored entropies
    expected = [global_starts(h, patching["global_threshold"]),
                monotonic_starts(h, patching["monotonic_threshold"])]
    assert expected == [patching["global_starts"], patching["monotonic_starts"]]
    for ax, starts, (_, heights, threshold, _) in zip(fig.axes, expected, module.rows(patching)):
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        np.testing.assert_allclose([b.get_height() for b in bars], heights)
        dark = [t for t, b in enumerate(bars) if to_hex(b.get_facecolor()) == module.START]
        assert dark == starts
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert dashed[0].get_ydata()[0] == threshold
    # the monotonic panel's bars are the rises of the entropy
    np.testing.assert_allclose(module.rows(patching)[1][1][1:], np.diff(h))


def test_window_weights_figure_plots_distance_weight_at_every_offset(drawn):
    from snippets.embeddings.cooccurrence import distance_weight

    module, fig = drawn("embeddings_window_weights")
    lines = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) == module.WINDOW]
    assert len(lines) == 2 * len(module.WEIGHTINGS)
    for (weighting, *_), pair in zip(module.WEIGHTINGS, zip(lines[::2], lines[1::2])):
        for line in pair:
            expected = [distance_weight(abs(o), module.WINDOW, weighting) for o in line.get_xdata()]
            np.testing.assert_allclose(line.get_ydata(), expected)


def test_glove_weight_figure_is_glove_weight_and_saturates_at_x_max(drawn):
    from snippets.embeddings.glove import glove_weight

    module, fig = drawn("embeddings_glove_weight")
    curves = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 100]
    for line, alpha in zip(curves, (0.75, 1.0)):
        x = torch.tensor(line.get_xdata(), dtype=torch.float64)
        np.testing.assert_allclose(line.get_ydata(), glove_weight(x, module.X_MAX, alpha).numpy())
        assert (line.get_ydata()[line.get_xdata() >= module.X_MAX] == 1).all()
    # the page's sentence: a cell counted once weighs 0.03 with alpha 3/4, 0.01 with alpha 1
    assert glove_weight(torch.tensor(1.0), 100.0, 0.75).item() == pytest.approx(0.0316, abs=1e-4)


def test_paired_intervals_figure_draws_the_bootstrap_intervals_the_page_prints(drawn):
    module, fig = drawn("embeddings_paired_intervals")
    run = load("embeddings_paired")
    page = (DOCS / "word_embeddings_and_vector_representations" / "analogies.md").read_text(encoding="utf-8")
    printed = page[page.index("ours - gensim:\n"):page.index("gensim, seed 2 - gensim:\n")]
    segments = [line for ax in fig.axes for line in ax.get_lines() if line.get_linewidth() == 3]
    tests = module.SIMILARITY + module.ANALOGY
    assert len(segments) == len(tests) * len(module.COMPARISONS)
    for segment, (test, (a, b, *_)) in zip(segments, itertools.product(tests, module.COMPARISONS)):
        d, low, high = module.interval(run["models"], run["human"], a, b, test)
        scale = 1 if test in module.SIMILARITY else 100
        np.testing.assert_allclose(segment.get_xdata(), [low * scale, high * scale])
        if (a, b) == ("ours", "gensim"):  # the page's 10,000 resamples give nearly the same ends
            ends = re.search(rf"{test} .*?interval \[([-+.\d]+)%?, ([-+.\d]+)%?\]", printed).groups()
            tolerance = 0.01 if scale == 1 else 0.5
            np.testing.assert_allclose(segment.get_xdata(), [float(e) for e in ends], atol=tolerance)


def test_chunking_figure_plots_the_stored_budget_hit_and_em_and_the_distraction_curves(drawn):
    module, fig = drawn("retrieval_chunking")
    run = load("rag")
    left, right = fig.axes
    sizes, ns = run["setup"]["sizes"], run["setup"]["distractors"]
    lines = left.get_lines()
    assert len(lines) == 2 * len(module.CHUNKERS)
    for (name, _), hit, em in zip(module.CHUNKERS, lines[0::2], lines[1::2]):
        stored = [run["means"][f"{name}|{s}|MiniLM"] for s in sizes]
        np.testing.assert_allclose(hit.get_xdata(), sizes)
        np.testing.assert_allclose(hit.get_ydata(), [m["hit, budget"] for m in stored])
        np.testing.assert_allclose(em.get_ydata(), [m["EM, budget"] for m in stored])
        assert all(e <= h for e, h in zip(em.get_ydata(), hit.get_ydata()))  # a copying reader: EM <= hit
    for (kind, _), line in zip(module.KINDS, right.get_lines()):
        np.testing.assert_allclose(line.get_xdata(), ns)
        np.testing.assert_allclose(line.get_ydata(), [run["distraction"][f"{kind}|{n}|first"]["EM"] for n in ns])


def test_matryoshka_figure_plots_the_stored_recall_of_each_way_of_cutting_the_vectors(drawn):
    module, fig = drawn("retrieval_matryoshka")
    run = load("retrieval_matryoshka")
    lines = [line for line in fig.axes[0].get_lines() if len(line.get_xdata())]
    assert [line.get_label() for line in lines] == [label for _, label in module.STYLES.values()]
    for line, name in zip(lines, module.STYLES):
        assert list(line.get_xdata()) == run["dims"]
        assert list(line.get_ydata()) == [run["results"][name][str(m)]["recall@10"] for m in run["dims"]]


# --------------------------------------------------------------------- fine-tuning chapter --

def test_lora_figure_draws_the_factors_of_the_pages_rank_to_scale(drawn):
    module, fig = drawn("finetune_lora_update")
    page = (DOCS / "fine_tuning_transformers" / "lora.md").read_text(encoding="utf-8")
    assert f'add_lora(lora_gpt, ["q_proj", "v_proj"], r={module.R}, alpha={module.ALPHA},' in page
    lora = module.layer()
    boxes = {p.get_label(): p for p in fig.axes[0].patches if isinstance(p, Rectangle)}
    c_out, c_in = lora.base.weight.shape
    assert (boxes["W"].get_width(), boxes["W"].get_height()) == (c_in, c_out)
    assert (boxes["B"].get_width(), boxes["B"].get_height()) == (module.R, c_out)
    assert (boxes["A"].get_width(), boxes["A"].get_height()) == (c_in, module.R)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert f"trainable {module.R * (c_in + c_out):,}" in texts


def test_nf4_figure_marks_the_levels_and_nf4_uses_its_codes_more_evenly(drawn):
    from snippets.adaptation.quantization import int4_levels, nf4_levels

    module, fig = drawn("finetune_nf4_levels")
    rugs = markers(fig.axes[0], "|")
    np.testing.assert_allclose(rugs[0].get_xdata(), nf4_levels().numpy())
    np.testing.assert_allclose(rugs[1].get_xdata(), int4_levels().numpy())
    _, nf4 = module.code_usage(nf4_levels())
    _, int4 = module.code_usage(int4_levels())
    assert nf4.sum() == pytest.approx(1) and int4.sum() == pytest.approx(1)
    # the caption: NF4's codes are used more evenly than the uniform grid's, but not evenly
    assert nf4.std() < 0.6 * int4.std()
    assert nf4.max() / nf4.min() < int4.max() / int4.min() / 2
    assert nf4.max() > 1.25 / 16


def test_memory_figure_stacks_the_stored_counted_parts_and_marks_the_measured_peak(drawn):
    module, fig = drawn("finetune_memory")
    for ax, name in zip(fig.axes, ("finetune_cost", "finetune_cost_gpt")):
        runs = load(name)
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        expected = [runs[m][key] / module.MIB for m in runs for key, *_ in module.PARTS]
        np.testing.assert_allclose(sorted(b.get_width() for b in bars), sorted(expected))
        peaks = [line.get_xdata()[0] for line in markers(ax, "D")]
        np.testing.assert_allclose(peaks, [runs[m]["peak_above"] / module.MIB for m in runs])


def test_layerwise_figure_plots_the_rates_the_optimiser_groups_get(drawn):
    from snippets.adaptation.freezing import layerwise_lr_groups
    from snippets.models.gpt import GPT

    module, fig = drawn("finetune_layerwise_lr")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    for decay in (0.8, 0.5):
        groups = layerwise_lr_groups(GPT(module.CONFIG), module.LR, decay)
        np.testing.assert_allclose(lines[f"layer-wise, γ = {decay}"].get_ydata(),
                                   [g["lr"] / module.LR for g in groups])
    frozen = lines["bottom two frozen"].get_ydata().tolist()
    assert frozen == [0, 0, 0, 1, 1, 1]  # embeddings and blocks 1-2 frozen; 3, 4 and top train


# ------------------------------------------------------------ mini transformer chapter --

def test_batch_windows_figure_draws_get_batch_windows_and_their_shifted_targets(drawn):
    module, fig = drawn("training_batch_windows")
    x, y = module.windows()
    assert torch.equal(y, x + 1)  # targets are the next position
    cells = [(p.get_x(), p.get_y()) for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    rows = sorted({yy for _, yy in cells}, reverse=True)
    stream, windows = rows[0], rows[1:]
    assert sorted(xx for xx, yy in cells if yy == stream) == list(range(len(module.TEXT)))
    for b in range(module.B):
        for r, expected in ((windows[2 * b], x[b]), (windows[2 * b + 1], y[b])):
            assert sorted(xx for xx, yy in cells if yy == r) == expected.tolist()


def test_plateau_figure_levels_are_the_pages_ngram_entropies_and_curves_the_stored_runs(drawn):
    module = figure_module("training_plateaus")

    def counted(text: str, n: int) -> float:  # the page's definition, with Counter
        grams = Counter(text[i:i + n] for i in range(len(text) - n + 1))
        contexts = Counter(text[i:i + n - 1] for i in range(len(text) - n + 1))
        total = sum(grams.values())
        return -sum(c / total * math.log(c / contexts[g[:-1]]) for g, c in grams.items())

    from snippets.training.corpus import tiny_shakespeare
    sample = tiny_shakespeare()[:30_000]
    for n in (1, 2, 3):
        assert module.ngram_entropy(sample, n) == pytest.approx(counted(sample, n), rel=1e-9)
    _, fig = drawn("training_plateaus")
    result = load("train_shakespeare")
    curves = markers(fig.axes[0], "o")
    for line, key in zip(curves, ("baseline", "fast")):
        np.testing.assert_allclose(line.get_ydata(), [r["val_loss"] for r in result[key]["history"]])
    page = (DOCS / "building_mini_transformer" / "generation-and-debugging.md").read_text(encoding="utf-8")
    levels = sorted((line.get_ydata()[0] for line in fig.axes[0].get_lines()
                     if line.get_linestyle() == "--"), reverse=True)
    for level in levels:
        assert f"{level:.2f} nats" in page


# ------------------------------------------------------------------------ Fine-tuning: GRPO --

def test_grpo_curves_figure_plots_each_arms_mean_and_range_over_the_stored_seeds(drawn):
    _, fig = drawn("grpo_curves")
    runs = load("grpo")["runs"]
    accuracy = fig.axes[0]
    arms = [line for line in accuracy.get_lines() if not line.get_label().startswith("_")]
    for line in arms:
        mine = [r["curve"] for r in runs if r["arm"] == line.get_label()]
        assert len(mine) == 3, line.get_label()
        np.testing.assert_allclose(line.get_xdata(), [p["step"] for p in mine[0]])
        np.testing.assert_allclose(line.get_ydata(), 100 * np.mean(  # points since each seed's SFT
            [[p["accuracy"] - curve[0]["accuracy"] for p in curve] for curve in mine], axis=0))
    assert {line.get_label() for line in arms} == {
        "more SFT", "GRPO, β = 0.04", "GRPO, β = 0"}
    # the seeds' range: one shaded band per line, spanning min..max of the last evaluation
    bands = accuracy.collections
    assert len(bands) == 3
    for band, line in zip(bands, arms):
        last = [100 * (r["curve"][-1]["accuracy"] - r["curve"][0]["accuracy"])
                for r in runs if r["arm"] == line.get_label()]
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() <= min(last) + 1e-9 and ys.max() >= max(last) - 1e-9


def test_grpo_test_time_figure_plots_the_stored_best_of_n_and_majority_means(drawn):
    _, fig = drawn("grpo_test_time")
    runs = load("grpo")["runs"]
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    for line in lines:
        model, method = line.get_label().split(": ")
        key = "best_of_n" if method.startswith("best") else "majority"
        tables = [r["test_time"][model] for r in runs if model in r.get("test_time", {})]
        assert len(tables) == 3
        np.testing.assert_allclose(line.get_xdata(), tables[0]["n"])
        np.testing.assert_allclose(line.get_ydata(), np.mean([t[key] for t in tables], axis=0))
        if key == "best_of_n":  # any of n verifies: never falls as n grows
            assert all(np.diff(line.get_ydata()) >= 0)


# ------------------------------------------------------------------- GPT: quantised decoding --

def test_quantisation_figure_plots_the_librarys_rounding_errors_and_the_stored_speeds(drawn):
    module, fig = drawn("quantized_levels")
    left, right = fig.axes
    errors = module.errors()
    for collection, name in zip(left.collections, ("int8", "int4")):
        w, error, half = errors[name]
        np.testing.assert_allclose(collection.get_offsets(), np.stack([w, error], axis=1))
        assert error.abs().max() <= half * (1 + 1e-9)  # every weight within half a step
    assert errors["int4"][2] > 10 * errors["int8"][2]  # int4's step is the coarser by far
    speed = load("quantized")["speed"]
    points = [c.get_offsets()[0] for c in right.collections]
    np.testing.assert_allclose([p[0] for p in points], [s["step_bytes"] / 1e6 for s in speed.values()])
    np.testing.assert_allclose([p[1] for p in points], [
        speed["int8"]["float32_tokens_per_s"] if n == "float32" else s["tokens_per_s"]
        for n, s in speed.items()])
