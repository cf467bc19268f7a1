from benchmarks.bench_train_shakespeare import COMPARE_TARGET, summarise, time_to


def history(points):
    return [{"step": s, "val_loss": loss, "t": t} for s, loss, t in points]


def test_time_to_target_counts_from_the_first_step_and_misses_are_none():
    rows = history([(0, 4.2, 6.0), (250, 2.0, 20.0), (500, 1.8, 40.0)])
    assert time_to(rows, 1.9, t0=6.0) == 34.0
    assert time_to(rows, 1.5) is None


def test_the_ratio_is_the_median_over_rounds_and_compares_times_to_one_target():
    def round_(ref_t, fast_t, ref_tps):
        ref = {"tokens_per_s": ref_tps, "wall_s": ref_t + 10,
               "history": history([(0, 4.2, 5.0), (2000, COMPARE_TARGET - 0.01, ref_t + 5.0)])}
        fast = {"wall_s": fast_t + 3, "history": history([(50, 2.5, 1.0),
                                                          (900, COMPARE_TARGET, fast_t)])}
        return {"reference": ref, "baseline": {"tokens_per_s": 100.0}, "fast": fast}

    s = summarise({"pairs": [round_(100, 50, 50.0), round_(100, 70, 100.0), round_(100, 40, 80.0)]})
    assert s["time_to_compare_target_vs_reference"] == 0.5  # median of 0.5, 0.7, 0.4
    assert s["throughput_vs_reference"] == 1.25              # median of 2.0, 1.0, 1.25
    never = round_(100, 50, 50.0)
    never["reference"]["history"][-1]["val_loss"] = COMPARE_TARGET + 0.01
    assert summarise({"pairs": [never]})["time_to_compare_target_vs_reference"] == float("inf")


def test_throughput_comes_from_the_short_pairs_when_they_were_run():
    ref = {"tokens_per_s": 100.0, "wall_s": 50.0,
           "history": history([(0, 4.2, 2.0), (2000, COMPARE_TARGET - 0.01, 40.0)])}
    fast = {"wall_s": 20.0, "history": history([(300, COMPARE_TARGET - 0.01, 15.0)])}
    rounds = [{"reference": ref, "baseline": {"tokens_per_s": 120.0}, "fast": fast}] * 3
    pairs = [{"reference_ms": 44.0, "ours_ms": 40.0}, {"reference_ms": 40.0, "ours_ms": 40.0},
             {"reference_ms": 48.0, "ours_ms": 40.0}]
    s = summarise({"pairs": rounds, "throughput_pairs": pairs})
    assert s["throughput_vs_reference"] == 1.1          # median of 1.1, 1.0, 1.2
    assert s["throughput_vs_reference_rounds"] == 1.2   # the long rounds' own ratio, kept
    assert summarise({"pairs": rounds})["throughput_vs_reference"] == 1.2
