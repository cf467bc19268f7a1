"""What every benchmark's results file says about the machine, and how it is written."""

import os
import platform
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
