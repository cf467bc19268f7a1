"""Pages of readable length, each with something to look at.

A chapter is an overview and short section pages (d2l's sections run 5-10 screens). The limit
is about 25 screens at 1280x800, measured in the browser after diagrams are drawn; every
section page carries at least one figure or diagram.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.site.test_browser import base_url, browser, site_pages  # noqa: F401 (fixtures)
from tests.site.test_reader import DESKTOP, open_page
from tools.pageblocks import DOCS
from tools.sitepages import built_html

MAX_SCREENS = 25
SECTION_PAGES = sorted(p for p in DOCS.glob("*/*.md"))


def pictures(html: str) -> int:
    """Figures drawn by figures/ and Mermaid diagrams in a page's article."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article") or soup
    return len(article.select("img[src*='assets/figures/']")) + len(article.select(".mermaid"))


def test_pictures_counts_figures_and_diagrams_only():
    page = ('<article><img src="../assets/figures/a.svg"><img src="logo.png">'
            '<pre class="mermaid"><code>flowchart TB</code></pre><pre><code>x</code></pre></article>')
    assert pictures(page) == 2
    assert pictures("<article><p>only words</p></article>") == 0


@pytest.mark.site
@pytest.mark.parametrize("source", SECTION_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_section_page_has_a_figure_or_a_diagram(source):
    html = built_html(source)
    if not html.exists():
        pytest.fail(f"{html} is missing: build the site first (make build)")
    assert pictures(html.read_text(encoding="utf-8")) >= 1, f"{source.relative_to(DOCS)} has no figure or diagram"


@pytest.mark.site
def test_no_page_is_taller_than_25_screens(browser, base_url):  # noqa: F811
    heights = {}
    for path in site_pages():
        visit = open_page(browser, base_url + path, DESKTOP)
        try:
            diagrams = visit.page.locator("div.mermaid, pre.mermaid").count()
            if diagrams:  # drawn diagrams change the height: measure after they appear
                visit.page.wait_for_function(
                    "n => [...document.querySelectorAll('div.mermaid')].filter(d => d.shadowRoot"
                    " && d.shadowRoot.querySelector('svg')).length >= n", arg=diagrams, timeout=30_000)
            heights[path or "/"] = visit.page.evaluate("document.documentElement.scrollHeight") / DESKTOP["height"]
        finally:
            visit.close()
    tall = {p: round(h, 1) for p, h in heights.items() if h > MAX_SCREENS}
    assert len(heights) > 60
    assert tall == {}, f"pages taller than {MAX_SCREENS} screens at 1280x800: {tall}"
