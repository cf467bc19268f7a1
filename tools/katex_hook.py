"""MkDocs hook: every formula is typeset at build time, so a reader's browser runs no KaTeX.

pymdownx.arithmatex (generic mode) leaves `<span class="arithmatex">\\(...\\)</span>` and
`<div class="arithmatex">\\[...\\]</div>` in the page; the lab notebooks keep `$...$` and
`$$...$$` in their rendered Markdown cells. In the browser, a phone (4x slower CPU) had to
download and run KaTeX, then style and lay out what it made, before the last formula showed
(results/phone_math.md). Here one Node.js process, started once per build, renders every formula
with the KaTeX build the site serves (docs/assets/vendor/katex, copied there by `make setup`),
with the options the browser used: `throwOnError`, display mode for `\\[...\\]` and `$$...$$`.
The page then needs only katex.min.css and its fonts, and a formula is shown as soon as it is
parsed. (Styling and laying out the ~15,000 elements KaTeX makes for a chapter is the larger
cost; docs/assets/css/extra.css defers it for blocks far from the viewport.)

Runs in on_post_page, after the search plugin has read the page (the index keeps the TeX, which
tools/plain_text_hook.py turns into text) and after the drill page has gathered its questions.
A formula KaTeX cannot parse is a warning naming the page and the formula, so
`mkdocs build --strict` fails; the formula stays as TeX.
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.katex")
RENDERER = Path(__file__).resolve().parent / "katex_render.js"
VENDORED = Path("assets") / "vendor" / "katex" / "katex.min.js"

ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<tex>(?:(?!</?(?:span|div)\b).)*?)</(?P=tag)>', re.S)
DELIMITED = re.compile(r"^\s*\\[(\[](?P<body>.*)\\[)\]]\s*$", re.S)
NOTEBOOK_MARKDOWN = re.compile(r'<div class="[^"]*\bjp-RenderedMarkdown\b[^"]*"[^>]*>')
DIV = re.compile(r"<div\b|</div>")
TAG = re.compile(r"(<[^>]*>)")
SKIPPED = re.compile(r"<(/?)(pre|code|script|style|textarea)\b", re.I)
DOLLARS = re.compile(r"\$\$(?P<display>.+?)\$\$|(?<!\\)\$(?P<inline>[^$]+?)(?<!\\)\$", re.S)


class Renderer:
    """One `node tools/katex_render.js` process; render() sends a page's formulas in one line."""

    def __init__(self, katex_js: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("the KaTeX hook needs Node.js (>= 18) on PATH to typeset formulas")
        if not katex_js.is_file():
            raise RuntimeError(f"{katex_js} is missing: run `make setup`, which copies KaTeX there")
        self.process = subprocess.Popen([node, str(RENDERER), str(katex_js.resolve())], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def render(self, formulas: list[tuple[str, bool]]) -> list[tuple[bool, str]]:
        if not formulas:
            return []
        self.process.stdin.write(json.dumps(formulas) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the KaTeX renderer stopped (exit code {self.process.poll()})")
        return [tuple(answer) for answer in json.loads(line)]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


_renderer: Renderer | None = None


def renderer(config) -> Renderer:
    global _renderer
    if _renderer is None:
        _renderer = Renderer(Path(config["docs_dir"]) / VENDORED)
    return _renderer


def arithmatex_formulas(output: str) -> list[tuple[re.Match, str, bool]]:
    """Each arithmatex element of a page: (match, TeX without delimiters, display mode)."""
    found = []
    for match in ARITHMATEX.finditer(output):
        inner = DELIMITED.match(html.unescape(match["tex"]))
        if inner is None:  # already typeset, or not arithmatex's markup
            continue
        found.append((match, inner["body"].strip(), match["tag"] == "div"))
    return found


def notebook_regions(output: str) -> list[tuple[int, int]]:
    """(start, end) of the contents of each rendered Markdown cell of a notebook page."""
    regions = []
    for start in NOTEBOOK_MARKDOWN.finditer(output):
        depth = 1
        for tag in DIV.finditer(output, start.end()):
            depth += 1 if tag[0] == "<div" else -1
            if depth == 0:
                regions.append((start.end(), tag.start()))
                break
    return regions


def notebook_formulas(output: str, where: str) -> tuple[list[tuple[int, int, str, bool]], list[str]]:
    """`$...$` and `$$...$$` in the text (not the code) of a notebook's Markdown cells, as
    KaTeX's auto-render finds them: (start, end, TeX, display mode); and each lone `$`."""
    found, problems = [], []
    for start, end in notebook_regions(output):
        skipped = 0
        position = start
        for piece in TAG.split(output[start:end]):
            if piece.startswith("<"):
                tag = SKIPPED.match(piece)
                if tag:
                    skipped += -1 if tag[1] else 1
            elif skipped == 0 and "$" in piece:
                for math in DOLLARS.finditer(piece):
                    tex = math["display"] if math["display"] is not None else math["inline"]
                    found.append((position + math.start(), position + math.end(),
                                  html.unescape(tex).strip(), math["display"] is not None))
                if "$" in DOLLARS.sub("", piece):
                    problems.append(f"{where}: a '$' without its pair in a notebook cell: "
                                    f"{html.unescape(piece).strip()[:80]!r}")
            position += len(piece)
    return found, problems


def typeset(output: str, where: str, render) -> tuple[str, list[str]]:
    """The page with every formula replaced by KaTeX's HTML, and the problems found."""
    spans = [(m.start(), m.end(), tex, display, m["tag"]) for m, tex, display in arithmatex_formulas(output)]
    in_notebooks, problems = notebook_formulas(output, where)
    spans += [(s, e, tex, display, "span") for s, e, tex, display in in_notebooks]
    spans.sort()
    answers = render([(tex, display) for _, _, tex, display, _ in spans])
    pieces, position = [], 0
    for (start, end, tex, display, tag), (ok, result) in zip(spans, answers):
        pieces.append(output[position:start])
        if ok:
            pieces.append(f'<{tag} class="arithmatex">{result}</{tag}>')
        else:
            problems.append(f'{where}: KaTeX cannot typeset "{tex}": {result}')
            pieces.append(output[start:end])
        position = end
    pieces.append(output[position:])
    return "".join(pieces), problems


def on_post_page(output: str, page, config) -> str:
    result, problems = typeset(output, page.file.src_uri, renderer(config).render)
    for problem in problems:
        log.warning("KaTeX: %s", problem)
    return result


def on_post_build(config) -> None:
    global _renderer
    if _renderer is not None:
        _renderer.close()
        _renderer = None

