"""Run the benchmarks: `python -m benchmarks` runs all, `python -m benchmarks NAME...` some.

Each benchmarks/bench_<name>.py defines main(), prints ratios measured in one run, and may
write a JSON results file under results/ (pages build their results tables from those).
"""

import importlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"


def main(names: list[str]) -> int:
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    chosen = names or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== {name} ==", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main()
        print(f"== {name}: {time.perf_counter() - start:.1f} s ==\n", flush=True)
    if not names:  # a full run: the Verified page states its date for the long measurements
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_run.json").write_text(json.dumps(
            {"date": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n")
    print(summary())
    return 0


def summary() -> str:
    """Every goal the site states, from the results files as they now stand: measured, goal, met.

    Read by the same code that builds the Verified page, so the two cannot disagree."""
    from tools.verified_hook import collect

    rows, problems = collect()
    lines = ["== goals ==", "| Measurement | Measured | Goal | Met | Results file |", "|---|---|---|:---:|---|"]
    for row in rows:
        if row.met is not None:
            lines.append(f"| {row.measurement} | {row.value} | {row.goal} | "
                         f"{'yes' if row.met else '**no**'} | {row.source} |")
    met = sum(row.met is True for row in rows)
    stated = sum(row.met is not None for row in rows)
    lines.append(f"\n{met} of {stated} goals met.")
    lines += [f"problem: {p}" for p in problems]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
