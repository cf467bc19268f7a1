"""Read the built site (site/): which HTML file a page became, and what blocks it shows."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from tools.pageblocks import DOCS, ROOT

SITE = ROOT / "site"
# Languages a reader would take for Python: any of them must have been executed.
PYTHONISH = {"python", "py", "python3", "py3", "pycon", "ipython", "ipython3"}


def built_html(source: Path) -> Path:
    """site/ path of a docs/ page (use_directory_urls: docs/a/b.md -> site/a/b/index.html)."""
    relative = source.relative_to(DOCS).with_suffix("")
    if relative.name == "index":
        return SITE / relative.parent / "index.html"
    return SITE / relative / "index.html"


def shown_python_blocks(html: str) -> int:
    """Code blocks in the page's article whose highlighting language is Python-like."""
    article = BeautifulSoup(html, "html.parser").select_one("article") or BeautifulSoup(html, "html.parser")
    count = 0
    for block in article.select("div.highlight"):
        languages = {c.removeprefix("language-") for c in block.get("class", [])
                     if c.startswith("language-")}
        count += bool(languages & PYTHONISH)
    return count


def lab_cells(html: str) -> tuple[int, int]:
    """(code cells shown, code cells that carry an execution count) in a rendered notebook."""
    soup = BeautifulSoup(html, "html.parser")
    cells = soup.select(".jp-Notebook > .jp-CodeCell")
    executed = 0
    for cell in cells:
        prompt = cell.select_one(".jp-InputPrompt")
        text = prompt.get_text(" ", strip=True) if prompt else ""
        executed += re.fullmatch(r"In\s*\[\d+\]:", text) is not None
    return len(cells), executed
