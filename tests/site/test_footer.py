"""The footer (licence, a way to report a problem, the build date) and linked references.

The built site is the one the Pages workflow deploys (REPO_URL and SITE_URL set; make test).
"""

from __future__ import annotations

import datetime
import os
import re
import time

import jinja2
from bs4 import BeautifulSoup

from tests.site.test_browser import parsed, site_pages
from tools.pageblocks import ROOT
from tools.references_hook import link_references
from tools.sitepages import SITE

PARTIAL = ROOT / "overrides" / "partials" / "copyright.html"


def article(path: str) -> BeautifulSoup:
    return parsed(SITE / path / "index.html")


def render_footer(repo_url: str | None) -> BeautifulSoup:
    """The footer partial on its own, as Material renders it."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PARTIAL.parent)))
    environment.filters["url"] = lambda value: f"/site/{value}"
    html = environment.get_template(PARTIAL.name).render(
        config={"repo_url": repo_url, "copyright": "Written for this guide.", "extra": {}},
        build_date_utc=datetime.datetime(2026, 3, 7, 23, 59, tzinfo=datetime.timezone.utc))
    return BeautifulSoup(html, "html.parser")


def test_the_footer_links_the_repository_when_there_is_one():
    footer = render_footer("https://github.com/a/b/")
    assert footer.select_one("a.site-footer__licence")["href"] == "https://github.com/a/b/blob/main/LICENSE"
    assert footer.select_one("a.site-footer__report")["href"] == "https://github.com/a/b/issues/new"
    built = footer.select_one("time.site-footer__built")
    assert built["datetime"] == "2026-03-07" and built.get_text() == "7 March 2026"
    assert "Written for this guide." in footer.get_text()


def test_without_a_repository_the_footer_points_to_the_corrections_page():
    footer = render_footer(None)
    assert footer.select_one("a.site-footer__licence") is None
    assert "MIT licence" in footer.select_one(".site-footer__licence").get_text()
    assert footer.select_one("a.site-footer__report")["href"] == "/site/corrections/"


def test_the_licence_in_the_footer_is_the_repositorys():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_every_built_page_has_the_footer_with_the_build_date():
    """The date is the build's: the one MkDocs writes into the sitemap on the same run."""
    sitemap = (SITE / "sitemap.xml").read_text(encoding="utf-8")
    built_on = set(re.findall(r"<lastmod>([^<]+)</lastmod>", sitemap))
    assert len(built_on) == 1, built_on
    repository = article("").select_one("a.md-source")["href"].rstrip("/")
    pages = site_pages()
    assert len(pages) > 40
    for path in pages:
        footer = article(path).select_one("footer.md-footer .site-footer")
        assert footer is not None, f"/{path}: no footer"
        assert footer.select_one("a.site-footer__report")["href"] == f"{repository}/issues/new", path
        assert footer.select_one("a.site-footer__licence")["href"] == f"{repository}/blob/main/LICENSE", path
        assert footer.select_one("time.site-footer__built")["datetime"] in built_on, path


def test_arxiv_ids_and_dois_in_references_become_links():
    page = ("# Title\n\nIn the text arXiv:1706.03762 stays as it is.\n\n## References\n\n"
            "- Vaswani et al. (2017). *Attention*. arXiv:1706.03762.\n"
            "- Hochreiter (1997). LSTM. doi:10.1162/neco.1997.9.8.1735.\n"
            "- Already linked: [arXiv:1409.0473](https://arxiv.org/abs/1409.0473).\n\n"
            "```text\narXiv:1111.22222\n```\n\n## Next section\n\narXiv:1508.07909\n")
    out = link_references(page)
    assert "In the text arXiv:1706.03762 stays" in out
    assert "[arXiv:1706.03762](https://arxiv.org/abs/1706.03762)." in out
    assert "[doi:10.1162/neco.1997.9.8.1735](https://doi.org/10.1162/neco.1997.9.8.1735)." in out
    assert out.count("https://arxiv.org/abs/1409.0473") == 1
    assert "```text\narXiv:1111.22222\n```" in out and out.endswith("## Next section\n\narXiv:1508.07909\n")


def test_every_arxiv_id_in_a_built_references_section_is_a_link():
    linked = unlinked = 0
    for path in site_pages():
        soup = article(path)
        for heading in soup.select("article h2, article h3"):
            if "references" not in heading.get_text().lower():
                continue
            for sibling in heading.find_next_siblings():
                if sibling.name in {"h1", "h2"} or (heading.name == "h3" and sibling.name == "h3"):
                    break
                for text in sibling.find_all(string=re.compile(r"arXiv:\s?\d{4}\.\d{4,5}")):
                    link = text.find_parent("a")
                    if link is not None and link["href"].startswith("https://arxiv.org/abs/"):
                        linked += 1
                        assert link["href"].removeprefix("https://arxiv.org/abs/") in text, (path, text)
                    else:
                        unlinked += 1
    assert unlinked == 0 and linked > 100, (linked, unlinked)


def test_a_build_pins_one_date_and_keeps_one_the_caller_set(monkeypatch):
    from tools import build_date_hook

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.delenv(build_date_hook._PINNED, raising=False)
    build_date_hook.on_pre_build(None)
    pinned = os.environ["SOURCE_DATE_EPOCH"]
    assert abs(int(pinned) - time.time()) < 60                       # now, and now it stays put
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")                     # a serve rebuild re-pins our own
    build_date_hook.on_pre_build(None)
    assert os.environ["SOURCE_DATE_EPOCH"] != "1"
    monkeypatch.delenv(build_date_hook._PINNED)                      # a caller's reproducible date
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build_date_hook.on_pre_build(None)
    assert os.environ["SOURCE_DATE_EPOCH"] == "1700000000"
