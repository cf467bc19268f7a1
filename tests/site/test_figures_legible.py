"""Figures as a reader meets them, those drawn at build time (figures/*.py) and the labs' matplotlib
output: on a 390 px phone each figure's smallest text is at least 9 CSS px, the figure scrolling
sideways in its own box (which says so) where the column is too narrow for that, and the page
itself never wider than the phone; at 1280 px a figure shown below its natural size opens at full
size, by click or keyboard.

The smallest text of each drawn figure is read from its SVG (matplotlib writes text as glyph paths,
one `scale(s -s)` group a run, s = font size / 100 pt), not taken from the hook that sizes the
frames. A lab's PNG does not record its text: there the size and dpi come from the PNG, the text
size from tools/lab_hook.py's LAB_TEXT_PT (which tests/site/test_labs_reading.py checks against the
labs' scripts). One visit per page with figures: measured at 390 px, then resized to 1280 px."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from functools import cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.site.test_browser import base_url, browser, site_pages  # noqa: E402, F401 (fixtures)
from tests.site.test_diagrams import DESKTOP, PHONE  # noqa: E402
from tools.figures_hook import PX_PER_PT, READABLE_PX, Legibility, framed, smallest_text_pt  # noqa: E402
from tools.lab_hook import LAB_TEXT_PT  # noqa: E402
from tools.sitepages import SITE  # noqa: E402

SVG_WIDTH = re.compile(r'<svg\b[^>]*\bwidth="([\d.]+)pt"')
TEXT_RUN = re.compile(r'<g transform="translate\([^)]*\) (?:rotate\([^)]*\) )?scale\(([\d.]+) -\1\)">')
# Every block laid out (content-visibility would skip far ones) and every <details> open, as a
# reader who opens them sees the figures inside.
LAY_OUT = """() => {
  const style = document.createElement("style");
  style.textContent = ".md-content * { content-visibility: visible !important; }";
  document.head.appendChild(style);
  document.querySelectorAll(".md-content details").forEach((d) => { d.open = true; });
}"""
# The figures decoded (their natural size known) and the frames measured (a ResizeObserver runs
# before the next frame is painted).
DECODED = """(selector) => Promise.all([...document.querySelectorAll(selector)]
  .map((img) => img.decode().catch(() => null)))"""
SETTLED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50))))"
DRAWN = '.md-content img[src*="assets/figures/"]'  # figures/*.py, drawn by tools/figures_hook.py
LAB_FIGURE = ".md-content .jp-RenderedImage img"  # a lab's matplotlib output (tools/lab_hook.py)
# Each figure: its name (a drawn one's), the width its drawing is shown at (px, inside the card's padding), whether
# a box around it scrolls sideways, the hint under it, whether it opens at full size, its card.
MEASURE = """(selector) => [...document.querySelectorAll(selector)].map((img) => {
  const style = getComputedStyle(img);
  const box = img.getBoundingClientRect();
  const inner = ["paddingLeft", "paddingRight", "borderLeftWidth", "borderRightWidth"]
    .reduce((width, side) => width - parseFloat(style[side]), box.width);
  let scroller = null;
  for (let el = img.parentElement; el && !el.classList.contains("md-content"); el = el.parentElement) {
    if (el.scrollWidth > el.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(el).overflowX)) {
      scroller = el;
      break;
    }
  }
  const frame = img.parentElement;
  const hint = getComputedStyle(frame, "::after");
  let card = img;  // what the drawing is seen against: the first box behind it with a colour
  while (card.parentElement && /^rgba\\(.*, 0\\)$|^transparent$/.test(getComputedStyle(card).backgroundColor)) {
    card = card.parentElement;
  }
  return {
    name: (img.getAttribute("src").match(/figures\\/([\\w-]+)\\.svg/) || [null, null])[1],
    shown: box.width > 0 ? inner : 0,
    scrolls: scroller !== null,
    hint: hint.display === "none" ? "" : hint.content,
    zoom: frame.hasAttribute("data-zoom") && frame.getAttribute("role") === "button" && frame.tabIndex === 0,
    card: getComputedStyle(card).backgroundColor,
  };
})"""


@cache
def svg_text(name: str) -> tuple[float, float]:
    """(natural width in CSS px, smallest text in pt) of a built figure, from its SVG."""
    svg = (SITE / "assets" / "figures" / f"{name}.svg").read_text(encoding="utf-8")
    sizes = [100 * float(s) for s in TEXT_RUN.findall(svg)]
    assert sizes, f"{name}.svg: no text runs found"
    return float(SVG_WIDTH.search(svg)[1]) * PX_PER_PT, min(sizes)


def smallest_px(figure: dict) -> float:
    """The figure's smallest text as shown, in CSS px."""
    natural, smallest_pt = svg_text(figure["name"])
    return smallest_pt * PX_PER_PT * figure["shown"] / natural


def figures_on(path: str) -> list[str]:
    return re.findall(r'src="[^"]*assets/figures/([\w-]+)\.svg"', (SITE / path / "index.html").read_text(encoding="utf-8"))


def pages_with_figures() -> list[str]:
    return [p for p in site_pages() if figures_on(p)]


@pytest.fixture(scope="module")
def reader(browser):
    """One tab for every page: dark scheme (the cards stay white), phone first. What these tests
    do not measure is not fetched: Mermaid (3.5 MB) and the search index, which the search worker
    would otherwise parse on every page."""
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    for unused in ("**/mermaid.min.js", "**/search_index.json", "**/workers/search.*.js"):
        context.route(unused, lambda request_route: request_route.abort())
    page = context.new_page()
    yield page
    context.close()


def test_the_hook_sizes_a_figure_by_its_smallest_visible_text():
    figure = plt.figure(figsize=(6, 2))
    axes = figure.add_subplot()
    axes.set_title("title", fontsize=13)
    axes.text(0.5, 0.5, "small", fontsize=8)
    axes.text(0.5, 0.2, "hidden", fontsize=4).set_visible(False)
    axes.text(0.5, 0.1, "   ", fontsize=3)
    axes.tick_params(labelsize=11)
    assert smallest_text_pt(figure) == 8
    plt.close(figure)
    # 432 pt wide, 8 pt text: 8 * 4/3 px at 576 px, so 9 px at 9 * 432 / 8 = 486 px
    assert Legibility(432, 144, 8).legible_px == 486 and Legibility(432, 144, 8).natural_px == (576, 192)


def test_the_hook_frames_a_figure_with_its_sizes_and_keeps_an_authors_width():
    tag = '<img alt="a plot" src="../assets/figures/plot.svg" width="420" />'
    html = framed(tag, Legibility(432, 144, 8))
    assert html.startswith('<span class="figure"><span class="figure__frame" '
                           'style="--figure-width: 420; --figure-legible: 486">')
    assert '<img width="576" height="192" alt="a plot" src="../assets/figures/plot.svg" />' in html


def test_the_smallest_text_is_read_from_the_svg():
    svg = ('<svg width="300pt" height="100pt"><g transform="translate(1 2) scale(0.13 -0.13)">'
           '<g transform="translate(5 6) rotate(-90) scale(0.08 -0.08)"><path transform="scale(0.015625)"/>')
    assert [float(s) for s in TEXT_RUN.findall(svg)] == [0.13, 0.08]


def check_figures(page, url: str, selector: str, measured: Callable[[int, dict], tuple[float, float]]) -> list[str]:
    """What a reader meets on the page at url, for the figures that selector finds: at 390 px each
    figure's smallest text (measured(index, figure): its natural width and smallest text, both in
    CSS px at natural size) is legible, a box that scrolls says so, the card is white in the dark
    scheme; at 1280 px a figure shown smaller opens at full size."""
    page.set_viewport_size(PHONE)
    page.goto(url, wait_until="domcontentloaded")
    page.evaluate(LAY_OUT)
    page.evaluate(DECODED, selector)
    page.evaluate(SETTLED)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    figures = [(i, f) for i, f in enumerate(page.evaluate(MEASURE, selector))
               if f["shown"] > 0]  # a figure in a closed tab is not shown
    assert figures, "no figure shown"
    problems = []
    for index, figure in figures:
        label = figure["name"] or f"figure {index + 1}"
        natural, smallest = measured(index, figure)
        text = smallest * figure["shown"] / natural
        if text < READABLE_PX - 0.05:
            problems.append(f"{label}: smallest text {text:.1f} px at {figure['shown']:.0f} px wide on a phone")
        if figure["scrolls"] and "scroll sideways" not in figure["hint"]:
            problems.append(f"{label}: scrolls sideways without saying so ({figure['hint']!r})")
        if figure["card"] != "rgb(255, 255, 255)":
            problems.append(f"{label}: drawn on {figure['card']} in the dark scheme, not on white")
    page.set_viewport_size(DESKTOP)
    page.evaluate(SETTLED)
    for index, figure in enumerate(page.evaluate(MEASURE, selector)):
        natural, _ = measured(index, figure)
        if 0 < figure["shown"] < 0.97 * natural and not (figure["zoom"] and "enlarge" in figure["hint"]):
            problems.append(f"{figure['name'] or f'figure {index + 1}'}: shown at {figure['shown']:.0f} of "
                            f"{natural:.0f} px at 1280 px and cannot be enlarged")
    return problems


@pytest.mark.site
@pytest.mark.parametrize("path", pages_with_figures(), ids=lambda p: p or "index")
def test_a_figure_is_legible_on_a_phone_or_scrolls_and_opens_at_full_size_on_a_desktop(reader, base_url, path):
    def measured(index: int, figure: dict) -> tuple[float, float]:
        natural, smallest_pt = svg_text(figure["name"])
        return natural, smallest_pt * PX_PER_PT
    problems = check_figures(reader, base_url + path, DRAWN, measured)
    assert problems == [], f"/{path}: " + "; ".join(problems)


def lab_pngs(path: str) -> list[tuple[float, float]]:
    """(natural width in CSS px, smallest text in CSS px) of each figure in a built lab, in page
    order: its size and dpi read from the PNG, its text LAB_TEXT_PT (the hook's assumption, which
    tests/site/test_labs_reading.py checks against the labs' scripts) at that dpi."""
    html = (SITE / path / "index.html").read_text(encoding="utf-8")
    found = []
    for encoded in re.findall(r'<img\b[^>]*\bsrc="data:image/png;base64,([A-Za-z0-9+/=]+)"', html):
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        found.append((float(image.width), LAB_TEXT_PT * image.info["dpi"][0] / 72))
    return found


def labs_with_figures() -> list[str]:
    return [p for p in site_pages() if p.startswith("labs/") and lab_pngs(p)]


@pytest.mark.site
@pytest.mark.parametrize("path", labs_with_figures())
def test_a_lab_figure_is_legible_on_a_phone_or_scrolls_and_opens_at_full_size_on_a_desktop(reader, base_url, path):
    pngs = lab_pngs(path)
    problems = check_figures(reader, base_url + path, LAB_FIGURE, lambda index, figure: pngs[index])
    assert problems == [], f"/{path}: " + "; ".join(problems)


@pytest.mark.site
def test_a_figure_shown_smaller_opens_at_full_size_by_keyboard_and_click(reader, base_url):
    page = reader
    page.set_viewport_size(DESKTOP)
    widest_first = sorted(pages_with_figures(), key=lambda p: -max(svg_text(name)[0] for name in figures_on(p)))
    for path in widest_first:
        page.goto(base_url + path, wait_until="domcontentloaded")
        page.evaluate(LAY_OUT)
        page.evaluate(DECODED, DRAWN)
        page.evaluate(SETTLED)
        zoomable = page.locator(".figure__frame[data-zoom]")
        if zoomable.count():
            break
    else:
        pytest.fail("no figure is shown below its natural size at 1280 px")
    frame = zoomable.first
    name = frame.locator("img").get_attribute("src").rsplit("/", 1)[1].removesuffix(".svg")
    natural, _ = svg_text(name)
    full = """() => {
      const img = document.querySelector('dialog.diagram-zoom[open] img.figure-zoom');
      const style = getComputedStyle(img);
      return img.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    }"""
    for open_it in (lambda: (frame.focus(), page.keyboard.press("Enter")),
                    lambda: (frame.focus(), page.keyboard.press(" ")), lambda: frame.click()):
        open_it()
        page.wait_for_selector("dialog.diagram-zoom[open] img.figure-zoom")
        shown = page.evaluate(full)
        assert abs(shown - round(natural)) <= 1, (name, shown, natural)
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog.diagram-zoom[open]", state="hidden")
