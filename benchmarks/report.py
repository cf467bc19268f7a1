"""What every benchmark's results file says about the machine, and how it is written."""

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent.parent / "results"


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} "
            f"torch threads, Python {platform.python_version()}, torch {torch.__version__}")


def write_markdown(name: str, lines: list[str]) -> None:
    """results/<name>, which a chapter includes; printed too."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


# ---- The protocol for every ratio the site prints -------------------------------------------

@dataclass
class Pairs:
    """Wall times of interleaved runs A, B, A, B, ...; the ratio is the median of per-pair ratios,
    so a slow patch of the machine hits both sides of the pair it falls in, not one side's best."""

    a: list[float]
    b: list[float]

    @property
    def ratio(self) -> float:
        """Median of a_i / b_i: how many times longer A took than B."""
        return statistics.median(x / y for x, y in zip(self.a, self.b))

    @property
    def median_a(self) -> float:
        return statistics.median(self.a)

    @property
    def median_b(self) -> float:
        return statistics.median(self.b)

    def as_dict(self) -> dict:
        return {"a_s": self.a, "b_s": self.b, "ratio_median": self.ratio}


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """The median time of `repeats` calls of run, after one untimed call (a warm-up)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(run_a: Callable[[], object], run_b: Callable[[], object], pairs: int = 3) -> Pairs:
    """Time `pairs` rounds of (run_a, run_b), alternating which side goes first."""
    if pairs < 3:
        raise ValueError(f"the protocol needs at least 3 interleaved pairs, got {pairs}")
    a, b = [], []
    for i in range(pairs):
        for run, times in ((run_a, a), (run_b, b)) if i % 2 == 0 else ((run_b, b), (run_a, a)):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return Pairs(a, b)


def _machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of the children it has waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class LoadWatch:
    """Whether anything else ran during a measurement.

    The 1-minute load average is recorded before and after, but it lags by a minute and counts
    the benchmark's own threads (two busy threads on two cores read as load 2.0 on an idle
    machine, and a minute after a benchmark ends `make bench`'s next one still sees its load),
    so the verdict comes from CPU time: the machine's busy CPU seconds over the run, from
    /proc/stat, minus this process's own. Busy means other processes used more than a quarter
    of a core on average. Without /proc/stat the load average alone decides.
    """

    OTHERS_LIMIT = 0.25  # cores used by other processes, on average over the run

    def __init__(self) -> None:
        self.before = os.getloadavg()[0]
        self.after: float | None = None
        self.others_cores: float | None = None
        self._start = (time.perf_counter(), _machine_busy_seconds(), _own_cpu_seconds())

    def stop(self) -> "LoadWatch":
        self.after = os.getloadavg()[0]
        wall0, machine0, own0 = self._start
        machine1 = _machine_busy_seconds()
        if machine0 is not None and machine1 is not None:
            others = (machine1 - machine0) - (_own_cpu_seconds() - own0)
            self.others_cores = max(others, 0.0) / (time.perf_counter() - wall0)
        return self

    @property
    def busy(self) -> bool:
        if self.others_cores is not None:
            return self.others_cores > self.OTHERS_LIMIT
        cores = os.cpu_count() or 1
        return self.before > cores or (self.after is not None and self.after > cores)

    def line(self) -> str:
        after = "n/a" if self.after is None else f"{self.after:.2f}"
        text = (f"Load average (1 min) {self.before:.2f} before, {after} after (this benchmark's "
                f"own threads included), on {os.cpu_count()} cores.")
        if self.others_cores is not None:
            text += f" Other processes used {self.others_cores:.2f} cores on average during the run."
        if self.busy:
            text += " **The machine was busy: these timings are not trustworthy.**"
        return text

    def as_dict(self) -> dict:
        return {"load_before": self.before, "load_after": self.after,
                "others_cores": self.others_cores, "busy": self.busy}
