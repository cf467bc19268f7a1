"""MkDocs hook: draw every figure in figures/ at build time.

Each figures/<name>.py defines `draw() -> matplotlib.figure.Figure`. The SVG is added to
the site as assets/figures/<name>.svg without touching docs/, so `mkdocs serve` does not
rebuild in a loop and no figure can go stale in git.
"""

from __future__ import annotations

import importlib.util
import io
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402

log = logging.getLogger("mkdocs.hooks.figures")
FIGURES = Path(__file__).resolve().parent.parent / "figures"


def render(script: Path) -> bytes:
    spec = importlib.util.spec_from_file_location(f"figures.{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figure = module.draw()
    buffer = io.BytesIO()
    # A fixed hash salt and no date keep the SVG byte-identical between builds.
    with matplotlib.rc_context({"svg.hashsalt": script.stem}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def on_files(files: Files, config) -> Files:
    for script in sorted(FIGURES.glob("*.py")):
        try:
            content = render(script)
        except Exception as error:  # name the figure, then let the build fail
            raise RuntimeError(f"figure {script.name} failed to draw: {error}") from error
        files.append(File.generated(config, f"assets/figures/{script.stem}.svg", content=content))
        log.debug("drew figure %s", script.stem)
    return files
