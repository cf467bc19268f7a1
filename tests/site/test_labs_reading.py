"""Labs as a reader meets them (tools/lab_hook.py, docs/assets/css/front.css): search entries that
read as text, and on a phone no prompt margin, the notebook and Colab as buttons, figures that
scroll at a readable size (tests/site/test_figures_legible.py measures every one), and display math
that scrolls instead of being cut.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import struct
import zlib

import pytest
from bs4 import BeautifulSoup

from tests.site.test_browser import base_url, browser, site_pages  # noqa: F401 (fixtures)
from tests.site.test_reader import DESKTOP, PHONE, open_page
from tools.lab_hook import CLUTTER, LAB_TEXT_PT, LABS, frame_figures, plain_formulas
from tools.sitepages import SITE

LAB_CLUTTER = [("\\frac", "TeX"), ("$$", "display TeX"), ("\\(", "TeX"), ("¶", "a heading anchor"),
               ("In [", "a cell prompt"), ("In\xa0[", "a cell prompt"), ("Out[", "a cell prompt"),
               ("Copied!", "a copy button's notice")]


def lab_pages() -> list[str]:
    return [p for p in site_pages() if p.startswith("labs/")]


# --- Without a browser -----------------------------------------------------------------------

def test_lab_formulas_read_as_text_and_code_keeps_its_dollars():
    text = (r'<p>weights $\operatorname{softmax}(q k^\top / \sqrt{d_k})$, $\tau &lt; 1$</p>'
            r'<p>$$\frac{a}{b}$$ then <code>cost = "$5" + "$6"</code></p><pre>x = "$1"</pre>')
    assert plain_formulas(text) == ('<p>weights softmax(q kᵀ / √d_k), τ &lt; 1</p>'
                                    '<p> then <code>cost = "$5" + "$6"</code></p>')


def test_prompts_anchors_and_copy_buttons_are_kept_out_of_search():
    html = ('<div class="jp-InputPrompt jp-InputArea-prompt">In [1]:</div>'
            '<h2 id="x">X<a class="anchor-link" href="#x">¶</a></h2>'
            '<div class="zeroclipboard-container"><span class="notice" hidden="">Copied!</span></div>'
            '<div class="jp-OutputPrompt jp-OutputArea-prompt">Out[1]:</div><div class="jp-Cell">'
            '<div class="clipboard-copy-txt" id="cell-1">import torch</div>')
    marked = BeautifulSoup(CLUTTER.sub(r'<\1 data-search-exclude="true" \2', html), "html.parser")
    assert len(marked.select("[data-search-exclude]")) == 5
    assert marked.select_one(".jp-Cell").get("data-search-exclude") is None


def png(width: int, height: int, dpi: int | None = 100) -> str:
    """An <img> as nbconvert writes a figure: a PNG data URI (header chunks only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if dpi is not None:
        per_metre = round(dpi / 0.0254)
        data += chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    data += chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    return f'<img alt="" class="" src="data:image/png;base64,{base64.b64encode(data).decode()}"/>'


def test_every_lab_figure_is_framed_no_narrower_than_its_text_is_legible():
    # The attention playground's two masks, 781 x 402 at 100 dpi: not quite twice as wide as tall,
    # yet shrunk to a phone's column its 10 pt text (13.9 image px) would be 6 px. At 9 px it is
    # 9 * 781 / (10 * 100 / 72) = 506.1 px wide, so the frame is never narrower than 507 px.
    framed = frame_figures(png(781, 402))
    assert framed.startswith('<span class="figure"><span class="figure__frame" '
                             'style="--figure-width: 781; --figure-legible: 507">'), framed
    assert '<img width="781" height="402" alt="" class="" src="data:image/png;base64,' in framed
    assert "--figure-legible: 254" in frame_figures(png(781, 402, dpi=200))  # twice the pixels a pt
    with pytest.raises(ValueError, match=r"\(640, 480\) PNG has no pHYs"):
        frame_figures(png(640, 480, dpi=None))


def test_no_lab_draws_text_smaller_than_the_hook_assumes():
    """tools/lab_hook.py sizes a lab's figures by LAB_TEXT_PT, matplotlib's default font size and
    the smallest of its default text sizes: a lab that set a smaller one would be unreadable."""
    import matplotlib

    assert matplotlib.rcParamsDefault["font.size"] == LAB_TEXT_PT
    sizes = {"fontsize", "size", "labelsize", "title_fontsize"}
    problems = []
    for script in sorted(LABS.glob("*.py")):
        source = script.read_text(encoding="utf-8")
        if "rcParams" in source or re.search(r"\b(?:plt|matplotlib)\.rc\(", source):
            problems.append(f"{script.name} changes matplotlib's rcParams")
        for node in ast.walk(ast.parse(source)):
            for keyword in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
                if keyword.arg in sizes and not (isinstance(keyword.value, ast.Constant)
                                                 and isinstance(keyword.value.value, (int, float))
                                                 and keyword.value.value >= LAB_TEXT_PT):
                    problems.append(f"{script.name}:{node.lineno}: {keyword.arg}={ast.unparse(keyword.value)}")
    assert problems == []
    bad = "ax.legend(fontsize=7)\nax.tick_params(labelsize='small')"
    assert [k.arg for n in ast.walk(ast.parse(bad)) if isinstance(n, ast.Call) for k in n.keywords] == \
        ["fontsize", "labelsize"]  # what the walk above looks at


# --- The built site ---------------------------------------------------------------------------

@pytest.mark.site
def test_lab_search_entries_read_as_text():
    index = json.loads((SITE / "search" / "search_index.json").read_text(encoding="utf-8"))
    labs = [doc for doc in index["docs"] if doc["location"].startswith("labs/")]
    assert len({doc["location"].split("#")[0] for doc in labs}) == len(lab_pages())
    problems = []
    for doc in labs:
        for needle, what in LAB_CLUTTER:
            if needle in doc["title"] + doc["text"]:
                problems.append(f"{doc['location']}: {what} ({needle!r})")
        if re.search(r"\$[^$<]*\\[A-Za-z]", re.sub(r"<code>.*?</code>", "", doc["title"] + doc["text"])):
            problems.append(f"{doc['location']}: a $...$ formula")
    assert problems == []
    first = next(doc for doc in labs if doc["location"] == "labs/attention_playground/")
    assert "Run this lab yourself" not in first["text"]  # the run box, the same on every lab
    assert any("τ" in doc["text"] for doc in labs if doc["location"].startswith("labs/attention_playground/"))


@pytest.mark.site
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_lab_on_a_phone_and_a_desktop(browser, base_url, viewport):  # noqa: F811
    visit = open_page(browser, base_url + "labs/attention_playground/", viewport)
    try:
        page = visit.page
        phone = viewport["width"] < 600
        prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first.bounding_box()
        if phone:
            assert prompt is None or prompt["width"] == 0, f"the prompt takes {prompt['width']} px"
            code = page.locator(".jp-CodeCell .jp-InputArea-editor").first.bounding_box()
            article = page.locator("article").bounding_box()
            # the cell's own padding only (the prompt column took about 100 px)
            assert code["x"] - article["x"] <= 24 and code["width"] >= article["width"] - 48, (code, article)
        else:
            assert prompt is not None and prompt["width"] > 0  # a desktop keeps the notebook's look
        buttons = page.locator(".lab-run a.md-button")
        assert [b.inner_text() for b in buttons.all()] == ["Download attention_playground.ipynb", "Open in Colab"]
        for button in buttons.all():
            box = button.bounding_box()
            assert box["height"] >= 30 and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        figure = page.locator(".jp-RenderedImage .figure__frame > img").first
        box = figure.bounding_box()
        scrolls = "i => i.closest('.figure').hasAttribute('data-scrolls')"
        if phone:  # three heat maps side by side: a readable height, and their box scrolls
            assert box["height"] >= 250 and box["width"] > viewport["width"], box
            assert figure.evaluate(scrolls)
        else:
            assert box["x"] + box["width"] <= viewport["width"], box
            assert not figure.evaluate(scrolls)
        assert visit.external == [] and visit.errors == []
    finally:
        visit.close()


@pytest.mark.site
def test_display_math_in_a_lab_scrolls_on_a_phone(browser, base_url):  # noqa: F811
    cut = []
    for path in lab_pages():
        visit = open_page(browser, base_url + path, PHONE)
        try:
            cut += visit.page.evaluate("""(path) => [...document.querySelectorAll(
                '.jp-RenderedMarkdown .katex-display')].filter(d => {
                    const box = d.getBoundingClientRect();
                    const scrolls = getComputedStyle(d).overflowX === "auto";
                    return box.right > innerWidth + 1 || (d.scrollWidth > d.clientWidth + 1 && !scrolls);
                }).map(d => path + ": " + d.textContent.slice(0, 40))""", path)
        finally:
            visit.close()
    assert cut == []
