"""Diagrams as a reader meets them: drawn through the mermaid2 plugin from the vendored Mermaid,
fitting the column, never showing their source, and not moving the page when they appear.

The site is built as the Pages workflow builds it (make test). Material draws each diagram into a
closed shadow root; an init script opens them so that the page's own JavaScript can measure them.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from mkdocs.config import load_config

from tests.site.test_browser import LOCAL_HOSTS, base_url, browser, site_pages  # noqa: F401 (fixtures)
from tools.diagram_hook import NATURAL_SIZE, escape_sources, estimate_size
from tools.pageblocks import ROOT
from tools.sitepages import SITE

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MERMAID = "**/assets/vendor/mermaid.min.js"
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
"""
ALL_DRAWN = """() => [...document.querySelectorAll('.diagram__frame')].every(
    (f) => f.dataset.state === 'drawn' && f.querySelector(':scope > div.mermaid'))"""
# Where the first element after each diagram is, in page coordinates.
BELOW = """() => [...document.querySelectorAll('.diagram')].map((d) => {
  let next = d;
  while (next && !next.nextElementSibling) next = next.parentElement;
  const below = next && next.nextElementSibling;
  return below ? below.getBoundingClientRect().top + window.scrollY : null;
})"""
# Each drawing: its box, the column's, its natural size, the smallest text it shows (px),
# whether its box scrolls with the hint showing, and whether that hint sits below the drawing.
MEASURE = """() => [...document.querySelectorAll('.diagram__frame')].map((frame) => {
  const svg = frame.querySelector('div.mermaid').shadowRoot.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  let smallest = 99;
  const walker = document.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('style, title, desc')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize) * scale);
  }
  const scroller = frame.parentElement;
  return {
    width: box.width, column: scroller.clientWidth, natural: svg.viewBox.baseVal.width, scale, smallest,
    scrolls: scroller.scrollWidth > scroller.clientWidth + 1,
    hint: getComputedStyle(frame, '::after').content,
    // the hint's line is under the drawing, not over its corner
    hintBelow: parseFloat(getComputedStyle(frame, '::after').top) >= frame.getBoundingClientRect().height - 1,
    zoom: frame.hasAttribute('data-zoom'),
  };
})"""


def article(path: str) -> BeautifulSoup:
    return BeautifulSoup((SITE / path / "index.html").read_text(encoding="utf-8"), "html.parser")


def pages_with_diagrams() -> list[str]:
    return [p for p in site_pages() if 'class="mermaid"' in (SITE / p / "index.html").read_text(encoding="utf-8")]


def source_lines(path: str) -> list[str]:
    """Lines of the page's diagram sources that could not be mistaken for prose."""
    lines = []
    for code in article(path).select("pre.mermaid > code"):
        for line in code.get_text().splitlines():
            line = line.strip()
            if len(line) >= 8 and re.search(r"%%|-->|-\.->|^(flowchart|graph|timeline|title|section|class)\b|:", line):
                lines.append(line)
    return lines


def visible_sources(page, lines: list[str]) -> list[str]:
    text = page.evaluate("document.querySelector('.md-content').innerText")
    return [line for line in lines if line in text] + [t for t in ("%%{init", "flowchart TB", "graph TB") if t in text]


def new_page(browser, viewport: dict, scheme: str = "light"):
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    context.add_init_script(OPEN_SHADOW_ROOTS)
    external = []

    def route(request_route):
        host = re.match(r"\w+://([^/:]+)", request_route.request.url)
        if host and host[1] not in LOCAL_HOSTS:
            external.append(request_route.request.url)
            request_route.abort()
        else:
            request_route.continue_()

    context.route("**/*", route)
    return context, context.new_page(), external


# --- Without a browser -----------------------------------------------------------------------

def test_the_plugin_serves_the_vendored_mermaid_through_its_custom_fence():
    config = load_config(str(ROOT / "mkdocs.yml"))
    plugin = config.plugins["mermaid2"]
    assert plugin.config["javascript"] == "assets/vendor/mermaid.min.js"
    fences = config.mdx_configs["pymdownx.superfences"]["custom_fences"]
    assert [f["format"].__name__ for f in fences if f["name"] == "mermaid"] == ["fence_mermaid_custom"]
    assert not any("mermaid" in str(script) for script in config.extra_javascript)  # the plugin adds it


def test_a_line_break_in_a_label_reaches_mermaid_as_written():
    """The plugin's fence writes the source into the HTML as is: unescaped, `<br/>` would become
    an element and Material, which reads the text, would glue the two lines together."""
    from mermaid2 import fence_mermaid_custom

    page = "```mermaid\nflowchart TB\n  A[\"tokenizer<br/>char & BPE\"] --> B\n```\n\n```python\nx = 1 < 2\n```\n"
    escaped = escape_sources(page)
    assert "x = 1 < 2" in escaped
    source = escaped.split("```mermaid\n")[1].split("```")[0]
    drawn = BeautifulSoup(fence_mermaid_custom(source, "mermaid", "mermaid", {}, None), "html.parser")
    assert drawn.select_one("pre.mermaid > code").get_text() == 'flowchart TB\n  A["tokenizer<br/>char & BPE"] --> B\n\n'


def test_the_size_estimate_follows_the_layout():
    chain = "\n".join(f"  N{i}[\"step {i}\"] --> N{i + 1}[\"step {i + 1}\"]" for i in range(6))
    tall_w, tall_h = estimate_size(f"flowchart TB\n{chain}")
    wide_w, wide_h = estimate_size(f"flowchart LR\n{chain}")
    assert tall_h > 3 * tall_w and wide_w > 3 * wide_h
    fan_w, _ = estimate_size("flowchart TB\n  A --> B\n  A --> C\n  A --> D")
    assert fan_w > 2.5 * estimate_size("flowchart TB\n  A --> B")[0]
    wrapped = estimate_size('flowchart TB\n  A["a label long enough to wrap onto a second and third line"]')
    assert wrapped[1] > estimate_size('flowchart TB\n  A["short"]')[1] + 30
    assert estimate_size(f"{NATURAL_SIZE}\nflowchart TB\n{chain}") == (tall_w, tall_h)
    # Subgraphs that set their own direction, linked only to each other: drawn side by side.
    column = "\n".join(f"    N{i}[\"step {i}\"] --> N{i + 1}[\"step {i + 1}\"]" for i in range(3))
    one_w, one_h = estimate_size(f"flowchart TB\n{column}")
    two = "".join(f"  subgraph S{j}[\"part {j}\"]\n    direction TB\n{column.replace('N', f'P{j}')}\n  end\n"
                  for j in range(2))
    two_w, two_h = estimate_size(f"flowchart LR\n{two}  S0 --> S1")
    assert 2 * one_w < two_w < 4 * one_w and one_h < two_h < one_h + 150


def test_every_diagram_is_drawn_by_the_plugin_and_loaded_asynchronously():
    """On a page with a diagram: the plugin's fence markup inside the hook's frame, the plugin's
    configuration and script tag (made async, after the stand-in). Elsewhere: none of it."""
    with_diagrams = 0
    for path in site_pages():
        soup = article(path)
        diagrams = soup.select("pre.mermaid")
        scripts = soup.select("script")
        vendored = [s for s in scripts if s.get("src", "").endswith("assets/vendor/mermaid.min.js")]
        config = [s for s in scripts if "window.mermaidConfig = {default:" in s.get_text()]
        assert not any(re.search(r"unpkg|jsdelivr|cdn", s.get("src", "")) for s in scripts), path
        if not diagrams:
            assert vendored == [] and config == [] and not soup.select(".diagram"), path
            continue
        with_diagrams += 1
        assert all(pre.select_one(":scope > code") and pre.parent.get("class") == ["diagram__frame"]
                   and pre.parent.parent.get("class") == ["diagram"] for pre in diagrams), path
        assert len(vendored) == 1 and vendored[0].has_attr("async") and len(config) == 1, path
        loader = vendored[0].find_previous_sibling("script")
        assert loader["src"].endswith("assets/js/mermaid-loader.js") and not loader.has_attr("async"), path
        for frame in soup.select(".diagram__frame"):
            width, height = (float(v) for v in re.findall(r"--diagram-(?:width|height): ([\d.]+)", frame["style"]))
            assert 50 < width < 5000 and 50 < height < 5000, (path, frame["style"])
    assert with_diagrams >= 10


# --- In a browser ----------------------------------------------------------------------------

@pytest.mark.site
@pytest.mark.parametrize("path", pages_with_diagrams(), ids=lambda p: p or "index")
def test_no_source_shows_and_nothing_moves_while_mermaid_loads(browser, base_url, path):
    lines = source_lines(path)
    assert lines, "no source lines to look for"
    # Mermaid never arrives: placeholders, no source; the check finds the source once it shows.
    context, page, external = new_page(browser, DESKTOP)
    try:
        page.route(MERMAID, lambda route: route.abort())
        page.goto(base_url + path, wait_until="load")
        page.wait_for_function("[...document.querySelectorAll('.diagram__frame')].every(f => f.dataset.state === 'failed')")
        assert visible_sources(page, lines) == []
        page.add_style_tag(content=".md-typeset .diagram__frame > pre { visibility: visible; }")
        assert visible_sources(page, lines) != []
    finally:
        context.close()
    # Mermaid arrives late: no source meanwhile; the drawings take the space reserved for them.
    context, page, external = new_page(browser, DESKTOP)
    held = []
    try:
        page.route(MERMAID, lambda route: held.append(route))
        page.goto(base_url + path, wait_until="domcontentloaded")
        page.wait_for_timeout(500)  # the page is painted, Mermaid's request still held
        assert held and visible_sources(page, lines) == []
        before = page.evaluate(BELOW)
        held[0].continue_()
        page.wait_for_function(ALL_DRAWN, timeout=30_000)
        page.wait_for_timeout(100)
        assert visible_sources(page, lines) == []
        after = page.evaluate(BELOW)
        moved = [abs(a - b) for a, b in zip(after, before) if a is not None and b is not None]
        assert max(moved, default=0) <= 3, f"the content below a diagram moved by {moved} px"
        # At 1280 px every drawing fits its column, legibly; one shown smaller opens at full size.
        for index, drawn in enumerate(page.evaluate(MEASURE)):
            assert drawn["width"] <= drawn["column"] + 1 and not drawn["scrolls"], (index, drawn)
            assert drawn["smallest"] >= 11, (index, drawn)
            assert drawn["zoom"] == (drawn["scale"] < 0.97), (index, drawn)
            assert drawn["hintBelow"] or not drawn["zoom"], (index, drawn)
        assert external == []
    finally:
        context.close()


@pytest.mark.site
@pytest.mark.parametrize("path", pages_with_diagrams(), ids=lambda p: p or "index")
def test_on_a_phone_a_diagram_is_legible_or_scrolls_and_says_so(browser, base_url, path):
    context, page, external = new_page(browser, PHONE, "dark")
    try:
        page.goto(base_url + path, wait_until="load")
        page.wait_for_function(ALL_DRAWN, timeout=30_000)
        page.wait_for_timeout(100)
        for index, drawn in enumerate(page.evaluate(MEASURE)):
            if drawn["scrolls"]:
                assert "scroll" in drawn["hint"] and drawn["hintBelow"] and drawn["smallest"] >= 9, (index, drawn)
            else:
                assert drawn["smallest"] >= 9 and drawn["width"] <= drawn["column"] + 1, (index, drawn)
        assert external == []
    finally:
        context.close()


@pytest.mark.site
def test_a_diagram_shown_smaller_opens_at_full_size(browser, base_url):
    context, page, _ = new_page(browser, PHONE)
    try:
        for path in pages_with_diagrams():
            page.goto(base_url + path, wait_until="load")
            page.wait_for_function(ALL_DRAWN, timeout=30_000)
            zoomable = page.locator(".diagram__frame[data-zoom]")
            if zoomable.count():
                break
        else:
            pytest.fail("no diagram is shown below its natural size on a phone")
        zoomable.first.click()
        page.wait_for_selector("dialog.diagram-zoom[open]")
        full = page.evaluate("""() => {
            const svg = document.querySelector('dialog.diagram-zoom .diagram-zoom__drawing').shadowRoot.querySelector('svg');
            return [svg.getBoundingClientRect().width, svg.viewBox.baseVal.width];
        }""")
        assert abs(full[0] - full[1]) <= 1, full
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog.diagram-zoom[open]", state="hidden")
    finally:
        context.close()

