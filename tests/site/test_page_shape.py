"""Every section page has something to look at: a figure drawn by figures/ or a diagram.

(The pages' height, at most 25 screens at 1280x800, is measured in tests/site/test_reader.py
during the visit it already makes to every page.)
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tools.pageblocks import DOCS
from tools.sitepages import built_html

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
