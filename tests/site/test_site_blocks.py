"""Every Python block a reader sees in the BUILT site was executed by the suite.

pytest-codeblocks silently ignores fences such as ```py or ```python title="x"; counting
what the HTML shows, against what the harness ran, catches them.
"""

import pytest

from tools.pageblocks import DOCS, pages, python_blocks
from tools.sitepages import SITE, built_html, lab_cells, shown_python_blocks

pytestmark = pytest.mark.site


@pytest.fixture(scope="module", autouse=True)
def _site_is_built():
    if not (SITE / "index.html").exists():
        pytest.fail("site/ is not built: run `make build` (make test does it first)")


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_shown_python_block_was_executed(page):
    html = built_html(page).read_text(encoding="utf-8")
    shown = shown_python_blocks(html)
    executed = len(python_blocks(page))
    assert shown == executed, (
        f"{page.relative_to(DOCS)} shows {shown} Python blocks but the suite runs {executed}: "
        "use a bare ```python fence (no title or other options) for every Python block")


@pytest.mark.parametrize("lab", sorted((DOCS / "labs").glob("*.py")), ids=lambda p: p.name)
def test_every_lab_cell_was_executed_at_build(lab):
    html = built_html(lab).read_text(encoding="utf-8")
    cells, executed = lab_cells(html)
    assert cells > 0, f"{lab.name} rendered no code cells"
    assert executed == cells, f"{lab.name}: only {executed} of {cells} code cells were executed"


def test_counter_sees_fences_the_runner_ignores():
    html = """<article>
      <div class="language-python highlight"><pre>run</pre></div>
      <div class="language-py highlight"><pre>not run by pytest-codeblocks</pre></div>
      <div class="language-text highlight"><pre>output</pre></div>
    </article>"""
    assert shown_python_blocks(html) == 2
