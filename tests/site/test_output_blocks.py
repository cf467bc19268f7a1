"""Printed output looks like output: labelled, coloured apart from code, with no copy button.

tools/output_hook.py marks every expected-output block (the ```text fence after
`<!--pytest-codeblocks:expected-output-->`) with `output no-copy`; docs/assets/css/output.css
labels and tints it. Checked in Chromium in both colour schemes: the label is drawn, the block's
background or left border differs from a code block's, Material gave it no copy button and still
gave one to the code above it.
"""

from __future__ import annotations

import pytest

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser  # noqa: F401 (fixtures)
from tools.output_hook import mark_output
from tools.sitepages import SITE

pytestmark = pytest.mark.site
# Pages with output under code: at the top level, and (the interview page) inside an admonition.
PAGES = ["attention_mechanism_deep_dive/masks/", "tokenization/bpe/", "attention_mechanism_deep_dive/interview-questions/"]

LOOK = """() => {
  const style = (el, pseudo) => getComputedStyle(el, pseudo || null);
  const looks = (block) => {
    const pre = block.querySelector("pre"), code = block.querySelector("pre > code");
    return {
      label: style(pre, "::before").content,
      background: style(code).backgroundColor,
      border: style(pre).borderLeftWidth + " " + style(pre).borderLeftStyle + " " + style(pre).borderLeftColor,
      copy: block.querySelectorAll(".md-code__button[data-clipboard-target]").length,
    };
  };
  return {
    scheme: document.body.getAttribute("data-md-color-scheme"),
    outputs: [...document.querySelectorAll("article .highlight.output")].map(looks),
    code: [...document.querySelectorAll("article .highlight.language-python:not(.output)")]
      .map(looks),
  };
}"""


def test_the_hook_marks_only_blocks_under_the_marker():
    code = '<div class="language-python highlight"><pre><code>print(1)</code></pre></div>'
    text = '<div class="language-text highlight"><pre><code>1</code></pre></div>'
    html = f"{code}\n<!--pytest-codeblocks:expected-output-->\n\n{text}\n{text}"
    marked = mark_output(html)
    assert marked.count('class="language-text highlight output no-copy"') == 1
    assert marked.count('class="language-text highlight"') == 1       # a text block without the marker
    assert mark_output(marked) == marked                              # marking twice changes nothing


def test_every_output_block_of_the_built_site_is_marked():
    unmarked, total = [], 0
    for html_file in sorted(SITE.rglob("*.html")):
        html = html_file.read_text(encoding="utf-8")
        markers = html.count("<!--pytest-codeblocks:expected-output-->")
        total += markers
        if html.count("highlight output no-copy") != markers:
            unmarked.append(str(html_file.relative_to(SITE)))
    assert total > 100, f"only {total} expected-output blocks in site/: is it built?"
    assert not unmarked, f"pages with an expected-output block the hook did not mark: {unmarked}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_output_is_labelled_coloured_apart_and_not_copyable(browser, base_url, path, scheme):
    visit = Visit(browser, base_url + path, scheme=scheme)
    try:
        visit.page.wait_for_selector("article .md-code__button", state="attached")
        seen = visit.page.evaluate(LOOK)
        assert seen["scheme"] == {"light": "default", "dark": "slate"}[scheme]
        assert seen["outputs"] and seen["code"], f"{path}: no output or no code block"
        code_looks = {(c["background"], c["border"]) for c in seen["code"]}
        for output in seen["outputs"]:
            assert output["label"] == '"Output"', output
            assert output["copy"] == 0, f"{path}: an output block has a copy button"
            assert (output["background"], output["border"]) not in code_looks, (output, code_looks)
            assert all(output["background"] != c["background"] for c in seen["code"]), (output, code_looks)
        assert all(c["copy"] == 1 for c in seen["code"]), f"{path}: a code block lost its copy button"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        first = visit.page.locator("article .highlight.output").first
        first.scroll_into_view_if_needed()
        visit.page.screenshot(path=str(SCREENSHOTS / f"output-{path.strip('/').replace('/', '-')}-{scheme}.png"))
    finally:
        visit.close()
