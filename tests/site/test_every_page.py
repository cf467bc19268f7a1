"""Every page of the built site in headless Chromium, once at desktop width and once on a phone.

One visit per page and width carries every check that needs the page drawn, so that the
browser loads each page twice in all, not once per check: loading is most of what a check costs.
"""

from __future__ import annotations

import pytest

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser, site_pages  # noqa: F401 (fixtures)
from tests.site.test_reader import (CODE_BLOCKS, DESKTOP, LOOSE_TABLES, MAX_SCREENS, OPEN_SHADOW_ROOTS,
                                    PAGE_SCREENS, PHONE, WIDE_CODE_ALLOWED, article, open_page)

pytestmark = pytest.mark.site


def shot_name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "index"


def to_dark(page, diagrams: bool) -> None:
    """Click the palette toggle with CSS transitions off, so that two frames later the page shows
    the dark scheme's final colours (toggle_scheme waits 300 ms instead, for the tests that
    measure colours); a page with diagrams still waits for Mermaid to redraw them."""
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    if diagrams:
        page.wait_for_timeout(300)


@pytest.mark.parametrize("path", site_pages(), ids=lambda p: p or "index")
def test_page_at_desktop_width(browser, base_url, path):
    """At 1280x800, once the network is idle: nothing requested off this machine, no JavaScript
    error, every Mermaid block parsed by Mermaid and drawn, every formula typeset (at build time).
    Outside the labs, also: code fits beside the copy button (no block scrolls sideways but those
    in WIDE_CODE_ALLOWED), no table frame is wider than its columns, the page is at most
    MAX_SCREENS tall (diagram frames are reserved before Mermaid draws, so the height is final),
    and light and dark screenshots for a person."""
    sources = [pre.get_text() for pre in article(path).select("pre.mermaid")]
    visit = Visit(browser, base_url + path, viewport=DESKTOP, init_script=OPEN_SHADOW_ROOTS)
    problems: list[str] = []
    try:
        page = visit.page
        if sources:
            unparsable = visit.mermaid_parse_errors(sources)
            assert unparsable == [], f"/{path}: Mermaid cannot parse: {unparsable}"
            page.wait_for_function("n => document.querySelectorAll('div.mermaid').length >= n",
                                   arg=len(sources), timeout=20_000)
            deadline = 40  # Material renders each diagram asynchronously
            while visit.rendered_diagrams()[0] < len(sources) and deadline:
                page.wait_for_timeout(250)
                deadline -= 1
        diagrams, broken = visit.rendered_diagrams()
        if (diagrams, broken) != (len(sources), 0):
            problems.append(f"{len(sources)} Mermaid blocks, {diagrams} rendered, {broken} failed to parse")
        formulas = page.locator(".arithmatex").count()
        typeset = page.locator(".arithmatex .katex").count()
        if typeset != formulas or page.locator(".katex-error").count():
            problems.append(f"KaTeX typeset {typeset} of {formulas} formulas, or an error")
        if not path.startswith("labs/"):  # a lab's page is its notebook, laid out by mkdocs-jupyter
            page.wait_for_function("document.documentElement.dataset.codeFit === 'done'")  # code-fit.js ran
            found = page.evaluate(CODE_BLOCKS)
            screens = page.evaluate(PAGE_SCREENS)
            shown = [c for c in article(path).select(".md-content pre > code") if not c.find_parent("details")]
            if shown and not found["blocks"]:
                problems.append(f"the browser found none of the {len(shown)} code blocks the HTML shows")
            scrolling = [f"/{path}: {line}" for line in found["scrolling"]]
            problems += [f"the copy button covers code starting '{line}'" for line in found["covered"]]
            problems += [f"code scrolls sideways at 1280 px: {b}" for b in scrolling if b not in WIDE_CODE_ALLOWED]
            problems += [f"fits now, remove it from WIDE_CODE_ALLOWED: {b}" for b in sorted(WIDE_CODE_ALLOWED)
                         if b.startswith(f"/{path}: ") and b not in scrolling]
            problems += [f"table starting '{cell}' is drawn wider than its columns"
                         for cell in page.evaluate(LOOSE_TABLES)]
            if screens > MAX_SCREENS:
                problems.append(f"{screens:.1f} screens tall at 1280x800 (at most {MAX_SCREENS})")
            page.screenshot(path=SCREENSHOTS / f"{shot_name(path)}-light-desktop.png")
            to_dark(page, bool(sources))
            page.screenshot(path=SCREENSHOTS / f"{shot_name(path)}-dark-desktop.png")
        assert visit.external == [], f"/{path} requested hosts off this machine: {visit.external}"
        assert visit.errors == [], f"/{path} logged JavaScript errors: {visit.errors}"
        assert problems == [], f"/{path}: " + "; ".join(problems)
    finally:
        visit.close()


@pytest.mark.parametrize("path", [p for p in site_pages() if not p.startswith("labs/")],
                         ids=lambda p: p or "index")
def test_page_at_phone_width_in_both_schemes(browser, base_url, path):
    """Every page at 390 px, from its load event (the desktop visit waits for the network to
    fall idle): no request off the machine, no error, nothing that makes the whole page scroll
    sideways (wide math, tables and code scroll in their own boxes); screenshots for a person."""
    visit = open_page(browser, base_url + path, PHONE, wait="load")
    try:
        # every block laid out (content-visibility would leave far blocks at placeholder width)
        width = visit.page.evaluate("""() => {
            const style = document.createElement("style");
            style.textContent = ".md-content * { content-visibility: visible !important; }";
            document.head.appendChild(style);
            return document.documentElement.scrollWidth;
        }""")
        assert width <= PHONE["width"], f"/{path} is {width} px wide at {PHONE['width']} px: the page scrolls sideways"
        visit.page.evaluate("() => document.fonts.ready.then(() => true)")  # the screenshots' fonts
        visit.page.screenshot(path=SCREENSHOTS / f"{shot_name(path)}-light-phone.png")
        if visit.page.locator("form[data-md-component=palette] label:visible").count():
            to_dark(visit.page, bool(article(path).select("pre.mermaid")))
        visit.page.screenshot(path=SCREENSHOTS / f"{shot_name(path)}-dark-phone.png")
        assert visit.external == [] and visit.errors == []
    finally:
        visit.close()
