"""The protocol behind every ratio the site prints (benchmarks/report.py)."""

import os
import subprocess
import sys
import time

import pytest

from benchmarks.report import LoadWatch, _own_cpu_seconds, interleaved

SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def test_pairs_alternate_and_the_ratio_is_the_median_of_pair_ratios():
    calls, durations = [], iter([0.03, 0.01, 0.01, 0.02, 0.06, 0.01])

    def run(name):
        def go():
            calls.append(name)
            time.sleep(next(durations))
        return go

    pairs = interleaved(run("a"), run("b"), 3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    ratios = sorted(a / b for a, b in zip(pairs.a, pairs.b))
    assert pairs.ratio == ratios[1]
    assert 2.0 < pairs.ratio < 3.5  # (0.03/0.01, 0.02/0.01, 0.06/0.01) -> about 3, 2, 6


def test_fewer_than_three_pairs_is_refused():
    with pytest.raises(ValueError, match="at least 3"):
        interleaved(lambda: None, lambda: None, 2)


def test_another_process_spinning_makes_the_run_busy():
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=5)])
    try:
        time.sleep(0.3)  # let it start
        watch = LoadWatch()
        time.sleep(1.5)
        watch.stop()
    finally:
        child.kill()
        child.wait()
    assert watch.others_cores > LoadWatch.OTHERS_LIMIT
    assert watch.busy
    assert "busy" in watch.line()


def test_a_child_the_benchmark_waits_for_counts_as_its_own_time():
    before = _own_cpu_seconds()
    subprocess.run([sys.executable, "-c", SPIN.format(seconds=0.5)], check=True)
    assert _own_cpu_seconds() - before >= 0.45


def test_the_load_a_previous_benchmark_left_does_not_make_a_quiet_run_busy(monkeypatch):
    # the 1-minute load average still counts the last benchmark's threads when the next starts
    monkeypatch.setattr("os.getloadavg", lambda: (2.5 * (os.cpu_count() or 1), 0.0, 0.0))
    watch = LoadWatch()
    watch.stop()
    watch.others_cores = 0.01  # /proc/stat: nothing else ran
    assert not watch.busy and "busy" not in watch.line()
    watch.others_cores = None  # without /proc/stat the load average is all there is
    assert watch.busy
