"""MkDocs hook: every lab page says how to run it, and offers its notebook as a download.

Labs are jupytext percent scripts (docs/labs/<name>.py) that mkdocs-jupyter executes at build
time. A reader who wants to change a knob needs the notebook and the package it imports: this
hook writes site/labs/<name>/<name>.ipynb (converted by jupytext, without outputs) and puts a
two-step box at the top of the page. `__WHEEL_URL__` is filled in by tools/install_box_hook.py,
which must come after this hook in mkdocs.yml.
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def is_lab(page) -> bool:
    return page.file.src_uri.startswith("labs/") and page.file.src_uri.endswith(".py")


def run_box(name: str, distribution: str) -> str:
    install = f'python -m pip install "{distribution}[check,data] @ __WHEEL_URL__"'
    return (
        '<div class="admonition tip lab-run">'
        '<p class="admonition-title">Run this lab yourself</p>'
        f"<p>1. Install the guide's package into a fresh environment: <code>{html.escape(install)}</code> "
        '(in a clone of the repository: <code>python -m pip install -e ".[check,data]"</code>).</p>'
        f'<p>2. Download <a href="{name}.ipynb" download>{name}.ipynb</a>, open it with Jupyter, '
        "change a value and re-run the cells below it.</p></div>")


def on_page_content(content: str, page, config, files) -> str:
    if not is_lab(page):
        return content
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return run_box(Path(page.file.src_uri).stem, project["name"]) + content


def on_post_build(config) -> None:
    import jupytext  # only the build needs it

    site = Path(config["site_dir"])
    for script in sorted((Path(config["docs_dir"]) / "labs").glob("*.py")):
        notebook = jupytext.read(script, fmt="py:percent")
        target = site / "labs" / script.stem / f"{script.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook, target, fmt="ipynb")
