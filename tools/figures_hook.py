"""MkDocs hook: draw every figure in figures/ at build time, and show it legibly at any width.

Each figures/<name>.py defines `draw() -> matplotlib.figure.Figure`. The SVG is added to
the site as assets/figures/<name>.svg without touching docs/, so `mkdocs serve` does not
rebuild in a loop and no figure can go stale in git.

While drawing, the hook notes each figure's natural width and its smallest text (both known
exactly at draw time); every page's <img> of a figure is then wrapped in a box that knows the
narrowest width at which that text is still READABLE_PX CSS pixels tall
(docs/assets/css/figures.css, docs/assets/js/figure-fit.js): on a phone a figure is never shown
narrower than that (its box scrolls sideways instead), and one shown below its natural size
opens at full size on click.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402

log = logging.getLogger("mkdocs.hooks.figures")
FIGURES = Path(__file__).resolve().parent.parent / "figures"
READABLE_PX = 9  # the smallest text a phone shows legibly without zooming, in CSS px
PX_PER_PT = 96 / 72  # an SVG sized in pt is shown at 4/3 CSS px per pt
IMG = re.compile(r'<img\b[^>]*\bsrc="[^"]*assets/figures/([\w-]+)\.svg"[^>]*>')
SVG_SIZE = re.compile(rb'<svg\b[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"')


@dataclass(frozen=True)
class Legibility:
    """A drawn figure's natural size (pt, after the tight crop) and its smallest text (pt)."""
    width_pt: float
    height_pt: float
    smallest_pt: float

    @property
    def natural_px(self) -> tuple[int, int]:
        return round(self.width_pt * PX_PER_PT), round(self.height_pt * PX_PER_PT)

    @property
    def legible_px(self) -> int:
        """Narrowest displayed width (CSS px) at which the smallest text is READABLE_PX tall:
        shown at w px, text of s pt is s * PX_PER_PT * w / (width_pt * PX_PER_PT) px."""
        return math.ceil(READABLE_PX * self.width_pt / self.smallest_pt)


# name -> Legibility of the figures drawn in this build (filled by on_files, read by on_page_content)
drawn: dict[str, Legibility] = {}


def smallest_text_pt(figure: Figure) -> float:
    """Font size (pt) of the smallest visible, non-empty text in the figure."""
    sizes = [text.get_fontsize() for text in figure.findobj(Text)
             if text.get_visible() and text.get_text().strip()
             and (text.axes is None or text.axes.get_visible())]
    if not sizes:
        raise ValueError("the figure has no visible text to size it by")
    return min(sizes)


def render(script: Path) -> bytes:
    return render_measured(script)[0]


def render_measured(script: Path) -> tuple[bytes, Legibility]:
    spec = importlib.util.spec_from_file_location(f"figures.{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figure = module.draw()
    buffer = io.BytesIO()
    # A fixed hash salt and no date keep the SVG byte-identical between builds.
    with matplotlib.rc_context({"svg.hashsalt": script.stem}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    smallest = smallest_text_pt(figure)
    plt.close(figure)
    content = buffer.getvalue()
    size = SVG_SIZE.search(content)
    if size is None:
        raise ValueError(f"figure {script.stem}: no width and height in pt on its <svg> element")
    return content, Legibility(float(size[1]), float(size[2]), smallest)


def on_files(files: Files, config) -> Files:
    drawn.clear()
    for script in sorted(FIGURES.glob("*.py")):
        try:
            content, legibility = render_measured(script)
        except Exception as error:  # name the figure, then let the build fail
            raise RuntimeError(f"figure {script.name} failed to draw: {error}") from error
        drawn[script.stem] = legibility
        files.append(File.generated(config, f"assets/figures/{script.stem}.svg", content=content))
        log.debug("drew figure %s", script.stem)
    return files


def framed(tag: str, legibility: Legibility) -> str:
    """The figure's <img> in its scroll box and frame, with its natural size as width and height
    (the browser reserves the space before the SVG arrives). An author's `width` caps the size."""
    width, height = legibility.natural_px
    given = re.search(r'\swidth="(\d+)"', tag)
    shown = min(width, int(given[1])) if given else width
    tag = re.sub(r'\s(?:width|height)="[^"]*"', "", tag)
    tag = tag.replace("<img", f'<img width="{width}" height="{height}"', 1)
    style = f"--figure-width: {shown}; --figure-legible: {legibility.legible_px}"
    return f'<span class="figure"><span class="figure__frame" style="{style}">{tag}</span></span>'


def on_page_content(content: str, page, config, files) -> str:
    def frame(match: re.Match) -> str:
        legibility = drawn.get(match[1])
        if legibility is None:  # not drawn by this hook: mkdocs's link check reports a missing one
            return match[0]
        return framed(match[0], legibility)
    return IMG.sub(frame, content)
