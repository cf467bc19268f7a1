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


class LoadWatch:
    """The 1-minute load average before and after a measurement, and whether it was busy."""

    def __init__(self) -> None:
        self.before = os.getloadavg()[0]
        self.after: float | None = None

    def stop(self) -> "LoadWatch":
        self.after = os.getloadavg()[0]
        return self

    @property
    def busy(self) -> bool:
        return max(self.before, self.after if self.after is not None else 0.0) > (os.cpu_count() or 1)

    def line(self) -> str:
        after = "n/a" if self.after is None else f"{self.after:.2f}"
        text = f"Load average (1 min) {self.before:.2f} before, {after} after, on {os.cpu_count()} cores."
        if self.busy:
            text += (" **The machine was busy (load above the core count): these timings are not"
                     " trustworthy.**")
        return text

    def as_dict(self) -> dict:
        return {"load_before": self.before, "load_after": self.after, "busy": self.busy}
