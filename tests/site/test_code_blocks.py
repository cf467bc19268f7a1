"""Code that serves the prose: no code block a reader sees runs longer than MAX_VISIBLE_LINES.

A page shows the lines its text explains and folds the rest of a long module into a collapsed
admonition (`??? example "..."`, a `<details>` without `open`), which the suite still executes in
place. Blocks inside such a collapsed block do not count: the reader opens them on purpose. Each
tab of a content tab counts on its own. Checked on the built site, every page but the labs.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.site.test_browser import site_pages
from tools.sitepages import SITE

pytestmark = pytest.mark.site
MAX_VISIBLE_LINES = 40
# None stands for "no site": the test then fails instead of collecting nothing.
PAGES = [p for p in site_pages() if not p.startswith("labs/")] or [None]


def visible_code_blocks(html: str) -> list[tuple[int, str]]:
    """(lines, first line) of every `pre > code` in the article not inside a collapsed <details>."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article") or soup
    found = []
    for code in article.select("pre > code"):
        if any(parent.name == "details" and not parent.has_attr("open") for parent in code.parents):
            continue
        lines = code.get_text().rstrip("\n").split("\n")
        found.append((len(lines), lines[0].strip()))
    return found


def too_long(html: str, limit: int = MAX_VISIBLE_LINES) -> list[str]:
    return [f"{n} lines from {first!r}" for n, first in visible_code_blocks(html) if n > limit]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "index")
def test_no_visible_code_block_is_longer_than_the_limit(path):
    html = SITE / (path or "") / "index.html"
    if path is None or not html.exists():
        pytest.fail("site/ is not built: run `make build` (make test does it first)")
    offending = too_long(html.read_text(encoding="utf-8"))
    assert not offending, (
        f"{path or 'index'}: visible code blocks over {MAX_VISIBLE_LINES} lines (show the lines the "
        f"text explains, fold the rest into a ??? block): {offending}")


def _code(n: int) -> str:
    spans = "".join(f'<span id="__span-0-{i}">line {i}\n</span>' for i in range(1, n + 1))
    return f'<div class="language-python highlight"><pre><span></span><code>{spans}</code></pre></div>'


def test_the_count_fails_a_long_visible_block_and_skips_collapsed_ones():
    page = (f"<article>{_code(41)}<details class='example'><summary>The rest</summary>{_code(200)}"
            f"</details><details open><summary>Open</summary>{_code(45)}</details>{_code(40)}</article>")
    assert visible_code_blocks(page) == [(41, "line 1"), (45, "line 1"), (40, "line 1")]
    assert too_long(page) == ["41 lines from 'line 1'", "45 lines from 'line 1'"]
    assert too_long(f"<article>{_code(40)}</article>") == []
