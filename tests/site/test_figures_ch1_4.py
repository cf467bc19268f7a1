"""The figures of chapters 1-4 show what the library computes, and every section page of those
chapters has a figure or a diagram.

Each figure module is loaded the way tools/figures_hook.py loads it; the tests read the data
back from the drawn Figure's artists, so a figure that plots the wrong thing fails here.
"""

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from snippets.layers.attention import causal_mask, kv_cache_bytes, sliding_window_mask  # noqa: E402
from snippets.layers.positional import alibi_slopes, sinusoidal_table  # noqa: E402
from snippets.models.bert_configs import FAMILY, encoder_parameters, layer_parameters  # noqa: E402
from snippets.models.seq2seq import (Seq2SeqConfig, Seq2SeqTransformer, bert_parameters,  # noqa: E402
                                     count_parameters, gpt2_parameters, noam_lr)
from tools.figures_hook import render  # noqa: E402

FIGURES = Path(__file__).resolve().parents[2] / "figures"
OURS = ["attention_mask_patterns", "attention_sliding_window", "attention_kv_cache_memory",
        "rnn_clipping", "rnn_recurrent_state_memory", "transformer_architecture_masks", "transformer_sinusoids",
        "transformer_alibi", "transformer_noam_schedule", "transformer_param_counts", "bert_mlm_masking",
        "bert_sizes", "transformer_rope_extension", "modernbert_attention", "bert_mask_rate",
        "transformer_qk_norm", "attention_sinks", "rnn_mqar_recall", "masked_diffusion_order",
        "finetune_stability"]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"figures.{name}", FIGURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def drawn():
    """Draw a figure by name; close every figure afterwards."""
    def draw(name: str):
        module = load(name)
        return module, module.draw()
    yield draw
    plt.close("all")


def test_mask_figure_draws_the_librarys_masks(drawn):
    module, fig = drawn("attention_mask_patterns")
    shown = [torch.from_numpy(ax.images[0].get_array().data).bool() for ax in fig.axes]
    padding = (torch.arange(6) < 4).expand(6, 6)
    expected = [padding, causal_mask(6), padding & causal_mask(6), causal_mask(2, 6)]
    for image, mask in zip(shown, expected, strict=True):
        assert torch.equal(image, mask)
    # bottom-right alignment: the last new query sees every key, the first all but the last
    assert shown[3].sum(-1).tolist() == [5, 6]
    assert list(module.mask_panels()) == [ax.get_title() for ax in fig.axes]


def test_sliding_window_figure_reaches_L_times_w_minus_1_back(drawn):
    module, fig = drawn("attention_sliding_window")
    one, stacked = (torch.from_numpy(ax.images[0].get_array().data).bool() for ax in fig.axes)
    T, w, L = module.T, module.WINDOW, module.LAYERS
    assert torch.equal(one, sliding_window_mask(T, w))
    for i in range(T):
        row = stacked[i].nonzero().flatten().tolist()
        assert row == list(range(max(0, i - L * (w - 1)), i + 1)), i  # a contiguous band
    assert torch.equal(module.reach(T, w, 1), one)


def test_kv_cache_figure_lines_follow_the_formula_and_cross_the_weights(drawn):
    module, fig = drawn("attention_kv_cache_memory")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    llama7b = lines["LLaMA-2-7B, 32 KV heads"]
    assert llama7b.get_xdata()[-1] == 4096
    assert llama7b.get_ydata()[-1] == kv_cache_bytes(32, 32, 128, tokens=4096, batch=32) / 2**30 == 64
    weights = lines["LLaMA-2-7B weights (fp16)"].get_ydata()[0]
    assert round(weights, 2) == 12.55  # the page's printed weight size
    crossing = weights * 2**30 / kv_cache_bytes(32, 32, 128, batch=32)
    assert 790 < crossing < 810  # "from about 800 tokens on", as the caption says
    gqa = lines["LLaMA-2-70B, 8 KV heads"].get_ydata()[-1]
    assert gqa < llama7b.get_ydata()[-1]  # the 70B's cache is smaller than the 7B's


def test_state_memory_figure_kv_cache_grows_and_the_states_stay_flat(drawn):
    module, fig = drawn("rnn_recurrent_state_memory")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    kv = lines["KV cache (softmax attention)"]
    assert list(kv.get_xdata()) == module.CONTEXTS
    assert kv.get_ydata()[12] == kv_cache_bytes(32, 32, 128, tokens=4096) / 2**20 == 2048
    linear = lines["linear attention state (S and z)"].get_ydata()
    ssm = lines["selective SSM state (h)"].get_ydata()
    assert len(set(linear)) == len(set(ssm)) == 1                    # flat in T
    assert linear[0] == 32 * 32 * (128 * 128 + 128) * 2 / 2**20      # S and z per head, fp16
    assert ssm[0] == 64 * 8192 * 16 * 2 / 2**20 == 16
    # The KV cache is the smaller state below (D + 1) / 2 = 64.5 tokens, the larger above.
    assert kv.get_ydata()[6] < linear[0] < kv.get_ydata()[7]         # T = 64 and 128


def test_clipping_figure_norm_keeps_direction_value_turns_it(drawn):
    module, fig = drawn("rnn_clipping")
    g, by_norm, by_value = (module.clipped()[k] for k in ("gradient", "by norm", "by value"))
    assert torch.linalg.vector_norm(by_norm).item() == pytest.approx(module.TAU, rel=1e-5)
    assert torch.linalg.vector_norm(torch.linalg.cross(
        torch.cat([g, torch.zeros(1, dtype=g.dtype)]),
        torch.cat([by_norm, torch.zeros(1, dtype=g.dtype)]))).item() == pytest.approx(0, abs=1e-12)
    assert by_value.tolist() == [1.0, 1.0]
    angle = lambda v: math.degrees(math.atan2(v[1].item(), v[0].item()))  # noqa: E731
    assert round(angle(g)) == 22 and round(angle(by_value)) == 45  # the caption's angles
    tips = sorted(tuple(round(c, 9) for c in a.xy) for a in fig.axes[0].texts if hasattr(a, "xy"))
    assert sorted({tuple(round(c, 9) for c in v.tolist()) for v in (g, by_norm, by_value)}) == \
        sorted(set(tips))


def test_architecture_figure_shows_full_causal_and_cross_plus_causal(drawn):
    module, fig = drawn("transformer_architecture_masks")
    encoder, decoder, seq2seq = (torch.from_numpy(ax.images[0].get_array().data).bool()
                                 for ax in fig.axes)
    assert encoder.all()
    assert torch.equal(decoder, causal_mask(module.T))
    source, target = seq2seq[:, :module.T_SOURCE], seq2seq[:, module.T_SOURCE:]
    assert source.all()  # cross-attention: the whole source, whatever the target position
    assert torch.equal(target, causal_mask(module.T_TARGET))
    assert [ax.get_title() for ax in fig.axes] == list(module.patterns())


def test_sinusoid_figure_is_the_tables_sine_half(drawn):
    module, fig = drawn("transformer_sinusoids")
    image = torch.from_numpy(fig.axes[0].images[0].get_array().data)
    table = sinusoidal_table(module.POSITIONS, module.CHANNELS)
    assert torch.equal(image, table[:, 0::2])
    assert (image[:, 0] > 0).any() and (image[:, 0] < 0).any()  # the fastest pair changes sign
    assert image[:, -1].abs().max() < 0.02  # the slowest barely moves in 96 positions


def test_alibi_figure_lines_are_minus_slope_times_distance(drawn):
    module, fig = drawn("transformer_alibi")
    lines = fig.axes[0].get_lines()
    slopes = alibi_slopes(module.HEADS)
    assert len(lines) == module.HEADS
    for line, slope in zip(lines, slopes, strict=True):
        distance = torch.tensor(line.get_xdata(), dtype=torch.float32)
        assert torch.allclose(torch.tensor(line.get_ydata()), -slope * distance, atol=1e-6)
    assert [line.get_label() for line in lines][0] == "1: 1/2"
    assert lines[-1].get_label() == "8: 1/256"


def test_schedule_figure_peaks_at_each_warmup_step(drawn):
    module, fig = drawn("transformer_noam_schedule")
    curves = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 1]
    assert len(curves) == len(module.WARMUPS)
    for line, warmup in zip(curves, module.WARMUPS, strict=True):
        x, y = list(line.get_xdata()), list(line.get_ydata())
        peak = max(range(len(y)), key=y.__getitem__)
        assert x[peak] == warmup
        assert y[peak] == pytest.approx((module.D_MODEL * warmup) ** -0.5 * 1e4, rel=1e-12)
    # after the longest warm-up all curves are one tail: d^-0.5 / sqrt(step)
    late = [c.get_ydata()[-1] for c in curves]
    assert max(late) == pytest.approx(min(late)) == pytest.approx(noam_lr(module.STEPS[-1], 512, 4000) * 1e4)


def test_parameter_figure_totals_equal_the_library_counts(drawn):
    module, fig = drawn("transformer_param_counts")
    counts = module.components()
    cfg = Seq2SeqConfig(vocab_size=37000, d_model=512, n_heads=8, d_ff=2048, n_encoder_layers=6,
                        n_decoder_layers=6, max_len=512, norm_first=False)
    with torch.device("meta"):
        base = count_parameters(Seq2SeqTransformer(cfg))
    expected = {"Transformer base": base,
                "GPT-2 small": gpt2_parameters(12, 768, 12, 50257, 1024),
                "BERT-base": bert_parameters(12, 768, 12, 30522, 512)}
    assert {name: sum(parts.values()) for name, parts in counts.items()} == expected
    assert counts["GPT-2 small"]["attention"] == 12 * (4 * 768**2 + 4 * 768)
    assert counts["Transformer base"]["cross-attention"] == 6 * (4 * 512**2 + 4 * 512)
    # the bars: one stacked bar per model whose segments add up to its total (in millions)
    totals = {}
    for patch in fig.axes[0].patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        totals[y] = totals.get(y, 0) + patch.get_width()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert {labels[y]: pytest.approx(v * 1e6, rel=1e-9) for y, v in totals.items()} == expected


def test_masking_figure_shows_one_call_of_mask_tokens(drawn):
    module, fig = drawn("bert_mlm_masking")
    image = torch.from_numpy(fig.axes[0].images[0].get_array().data)
    assert torch.equal(image, module.fates(10, 30))
    assert (image[:, 0] == 0).all() and (image[:, -1] == 0).all()  # [CLS] and [SEP] never chosen
    fate = module.fates(128, 512)
    ordinary = (fate >= 1).sum().item()
    selected = (fate >= 2).sum().item()
    for p, k in ((0.15, selected), (0.8, (fate == 2).sum().item()), (0.1, (fate == 3).sum().item())):
        n = ordinary if p == 0.15 else selected
        assert abs(k - n * p) <= 5 * math.sqrt(n * p * (1 - p)), (p, k, n)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[2] == f"[MASK]: {module.shares(fate)['[MASK]']:.1%}"


def test_sizes_figure_splits_encoder_parameters(drawn):
    module, fig = drawn("bert_sizes")
    for name, spec in FAMILY.items():
        parts = module.split(spec)
        assert sum(parts.values()) == encoder_parameters(spec), name
        assert min(parts.values()) >= 0
    assert module.split(FAMILY["ALBERT-large"])["layers"] == layer_parameters(1024, 4096)  # shared
    assert module.split(FAMILY["DistilBERT"])["pooler"] == 0
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert sum(widths) == pytest.approx(sum(encoder_parameters(s) for s in FAMILY.values()) / 1e6)


@pytest.mark.parametrize("name", OURS)
def test_figure_svg_is_byte_identical_when_drawn_again(name):
    assert render(FIGURES / f"{name}.py") == render(FIGURES / f"{name}.py")


def test_rope_extension_figure_draws_the_recipes_and_the_measured_curves(drawn):
    from snippets.layers.rope_scaling import rope_frequencies, yarn
    from snippets.results import load as load_results

    module, fig = drawn("transformer_rope_extension")
    left, right = fig.axes
    lines = {line.get_label(): line.get_ydata() for line in left.lines}
    want = (yarn(32, 10000.0, 4.0, trained_length=64)[0] / rope_frequencies(32)).tolist()
    assert list(lines["YaRN"]) == pytest.approx(want)
    assert list(lines["position interpolation"]) == pytest.approx([0.25] * 16)
    measured = load_results("rope_extension")["median_curves"]
    curves = {line.get_label(): line.get_ydata() for line in right.lines if line.get_label() in module.LABELS.values()}
    assert set(curves) == set(module.LABELS.values())
    assert list(curves["plain RoPE"]) == pytest.approx(module.smoothed(measured["none@256"]))
    assert curves["plain RoPE"][-1] > curves["YaRN"][-1] + 0.5  # plain RoPE fails at 256, YaRN holds


def test_qk_norm_figure_draws_the_measured_median_curves(drawn):
    from snippets.results import load as load_results

    module, fig = drawn("transformer_qk_norm")
    left, right = fig.axes
    data = load_results("qk_norm")
    high = max(data["lrs"])
    for ax, key in ((left, "loss"), (right, "max_logit")):
        lines = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
        for variant, label in module.LABELS.items():
            want = module.median_curve(data["runs"], variant, high, key)[1]
            assert lines[f"{label}, lr {high:g}"] == pytest.approx(want)
    logits = {line.get_label(): max(line.get_ydata()) for line in right.lines}
    # the point of the figure: without the norm the scores run away at the high rate
    assert logits[f"plain, lr {high:g}"] > 10 * logits[f"QK-norm, lr {high:g}"]


def test_sinks_figure_draws_each_caches_measured_curve_and_the_weight_on_position_0(drawn):
    from snippets.results import load as load_results

    module, fig = drawn("attention_sinks")
    left, right = fig.axes
    measured = load_results("attention_sinks")
    curves = {line.get_label(): line.get_ydata() for line in left.lines if line.get_label() in module.LABELS.values()}
    assert set(curves) == set(module.LABELS.values())
    for cache, label in module.LABELS.items():
        assert list(curves[label]) == pytest.approx(module.smoothed(measured["median_curves"][cache]))
    assert [bar.get_height() for bar in right.patches] == pytest.approx(measured["weight_on_first"])
    assert right.lines[0].get_ydata()[0] == pytest.approx(measured["uniform_weight"])


def test_modernbert_figure_draws_the_models_two_masks(drawn):
    from snippets.models.modernbert import local_window_mask

    module, fig = drawn("modernbert_attention")
    shown = [torch.from_numpy(ax.images[0].get_array().data).bool() for ax in fig.axes]
    T, real = module.T, module.REAL
    keys = (torch.arange(T) < real).expand(T, T)
    assert torch.equal(shown[0], keys)                                  # every real key
    band = local_window_mask(T, module.WINDOW) & keys
    padding_query = torch.arange(T).unsqueeze(1) >= real
    assert torch.equal(shown[1][~padding_query.expand(T, T)], band[~padding_query.expand(T, T)])
    assert shown[1][0].sum() == module.WINDOW // 2 + 1                  # the first query: 0..4
    assert module.layer_kinds() == [True, False, False, True, False, False]
    assert fig.axes[0].get_title() == "global: layers 0, 3"


def test_mask_rate_figure_draws_each_arms_held_out_curve(drawn):
    from snippets.results import load as load_results

    _, fig = drawn("bert_mask_rate")
    arms = load_results("mask_rate")["arms"]
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert set(lines) == {f"{float(rate):.0%} masked in training" for rate in arms}
    for rate, arm in arms.items():
        line = lines[f"{float(rate):.0%} masked in training"]
        assert list(line.get_ydata()) == [loss for _, loss in arm["curve"]][1:]  # step 0 left out


def test_mqar_figure_draws_each_mixers_measured_accuracy(drawn):
    from snippets.results import load as load_results
    _, fig = drawn("rnn_mqar_recall")
    runs = load_results("mqar")["runs"]
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(runs)
    for line, run in zip(lines, runs, strict=True):
        assert list(line.get_ydata()) == [100 * run["accuracy"][str(n)] for n in load_results("mqar")["pairs"]]
        assert run["kind"] in line.get_label()


def test_masked_diffusion_figure_draws_the_pass_that_revealed_each_position(drawn):
    from snippets.results import load as load_results

    module, fig = drawn("masked_diffusion_order")
    samples = load_results("masked_diffusion")["samples"]
    for ax, name in zip(fig.axes, module.SAMPLERS, strict=False):
        shown = torch.from_numpy(ax.images[0].get_array().filled(-1.0)).flatten().long()
        assert shown.tolist() == samples[name]["revealed_at"]                  # the prompt: -1
        assert "".join(t.get_text() for t in ax.texts).replace("⏎", "\n").replace("␣", " ") \
            == samples[name]["texts"][0]


def test_finetune_stability_figure_plots_every_seed_of_every_recipe(drawn):
    from snippets.results import load as load_results

    _, fig = drawn("finetune_stability")
    arms = load_results("finetune_stability")["arms"]
    points = [[x for x, _ in c.get_offsets()] for c in fig.axes[0].collections]
    assert points == [pytest.approx([100 * a for a in arm["accuracies"]]) for arm in arms.values()]
