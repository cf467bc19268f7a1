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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
