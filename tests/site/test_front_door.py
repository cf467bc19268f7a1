"""The landing page as a front door: what the guide is, for whom, and three ways in, all on the
first screen at 1280 x 800 (and on a 390 x 844 phone); the install instructions once, below.
"""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import yaml
from bs4 import BeautifulSoup

from tests.site.test_browser import SCREENSHOTS, base_url, browser  # noqa: F401 (fixtures)
from tests.site.test_reader import DESKTOP, PHONE, open_page, toggle_scheme
from tools.drill_hook import PAGE as DRILL_PAGE
from tools.pageblocks import ROOT
from tools.sitepages import SITE
from tools.verified_hook import chapters

pytestmark = pytest.mark.site


def nav() -> list:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text[text.index("\nnav:"):])["nav"]


def page_url(source: str) -> str:
    """The site path a docs/ page becomes: gpt_family.md -> gpt_family/."""
    return source.removesuffix(".md") + "/"


def landing() -> BeautifulSoup:
    return BeautifulSoup((SITE / "index.html").read_text(encoding="utf-8"), "html.parser").select_one("article")


def entries() -> dict[str, str]:
    """The buttons of the first screen: label -> site path they lead to."""
    return {a.get_text(strip=True): urljoin("https://site.invalid/", a["href"]).removeprefix("https://site.invalid/")
            for a in landing().select(".front-entries a.md-button")}


def test_the_three_entries_lead_where_they_say():
    found = entries()
    first_chapter = chapters(nav())[0][0]
    assert list(found) == ["Start reading", "Drill the questions", "Run a lab"], found
    assert found["Start reading"] == page_url(first_chapter)  # chapter 1's overview
    assert found["Drill the questions"] == page_url(DRILL_PAGE)  # the page tools/drill_hook.py makes
    assert found["Run a lab"].startswith("labs/")
    for label, path in found.items():
        assert (SITE / path / "index.html").is_file(), f"{label!r} leads to /{path}, which is not built"
    lab = BeautifulSoup((SITE / found["Run a lab"] / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert lab.select_one(".lab-run") is not None and lab.select_one(".jp-Notebook") is not None
    drill = BeautifulSoup((SITE / found["Drill the questions"] / "index.html").read_text(encoding="utf-8"),
                          "html.parser")
    assert drill.select("details.question") or drill.select(".drill-card"), "the drill page has no questions"


def test_the_install_instructions_appear_once():
    article = landing()
    boxes = [d for d in article.select("details, .admonition") if "pip install" in d.get_text()]
    assert len(boxes) == 1, f"{len(boxes)} install boxes on the landing page"
    outside = article.get_text().count("pip install") - boxes[0].get_text().count("pip install")
    assert outside == 0, "install commands outside the install box"
    assert article.get_text().count("modern-nlp-transformers[check,data] @") == 1


def test_the_landing_page_keeps_the_outline():
    headings = [h.get_text(" ", strip=True).rstrip("¶").strip() for h in landing().select("h2")]
    for needed in ("The chapters", "Recommended study order", "How the field got here", "The family tree",
                   "Quick reference", "Quick-fire checklist", "Notation"):
        assert needed in headings, f"the landing page lost its section {needed!r}"
    assert len(landing().select("pre.mermaid, div.mermaid")) >= 2  # the timeline and the family tree


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_way_in_is_on_the_first_screen(browser, base_url, viewport, scheme):  # noqa: F811
    visit = open_page(browser, base_url, viewport, scheme)
    try:
        page = visit.page
        header = page.locator(".md-header").bounding_box()
        for selector in ("article h1", "article .front-lead", *(
                f'article .front-entries a.md-button:text-is("{label}")'
                for label in ("Start reading", "Drill the questions", "Run a lab"))):
            box = page.locator(selector).bounding_box()
            assert box is not None, f"{selector} is not drawn"
            assert box["y"] >= header["y"] + header["height"] - 1 and box["y"] + box["height"] <= viewport["height"], (
                f"{selector} is not on the first screen at {viewport['width']} x {viewport['height']}: {box}")
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{selector} is cut: {box}"
        name = f"front-{'desktop' if viewport['width'] > 1000 else 'phone'}-{scheme}.png"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / name)
        assert visit.external == [] and visit.errors == []
    finally:
        visit.close()


def test_a_button_is_a_button_in_both_schemes(browser, base_url):  # noqa: F811
    """The entries look like buttons in both schemes: padded and framed."""
    visit = open_page(browser, base_url, DESKTOP)
    try:
        for _ in range(2):
            for button in visit.page.locator("article .front-entries a.md-button").all():
                box = button.bounding_box()
                assert box["height"] >= 32 and box["width"] >= 120, box
                border = button.evaluate("b => getComputedStyle(b).borderTopWidth")
                assert float(border.removesuffix("px")) > 0
            toggle_scheme(visit.page)
    finally:
        visit.close()
