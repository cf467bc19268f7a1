"""The measurements behind the guide's numbers, as the benchmarks stored them.

This folder is installed with the package as `snippets.results` (see pyproject.toml), so a
page's block that reads a measurement runs from the wheel exactly as it does in a clone.
`python -m benchmarks NAME` rewrites NAME.json here.
"""

import json
from importlib.resources import files


def load(name: str) -> dict:
    """The stored measurement NAME.json (say, load("bert_mlm"))."""
    path = files(__name__) / f"{name}.json"
    if not path.is_file():
        stored = sorted(p.name.removesuffix(".json") for p in files(__name__).iterdir() if p.name.endswith(".json"))
        raise FileNotFoundError(f"no stored measurement {name!r}; there are: {', '.join(stored)}")
    return json.loads(path.read_text(encoding="utf-8"))
