"""Find and run the Python blocks of the guide's pages, exactly as a reader sees them.

Includes (``--8<--``) are expanded by pymdownx.snippets itself, configured from
mkdocs.yml, before pytest-codeblocks' parser collects the blocks. Used by the root
conftest.py (one test per block) and by the site tests (counts, page scripts).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import markdown
from mkdocs.utils.yaml import yaml_load
from pytest_codeblocks.main import CodeBlock, extract_from_buffer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Fences that pytest-codeblocks executes; only these count as "run".
RUN_SYNTAX = {"python"}
SHELL_SYNTAX = {"sh", "bash"}


class PageError(Exception):
    """A page that cannot be tested as written (missing include, shell fence, skip mark)."""


@dataclass(frozen=True)
class PageBlock:
    page: str      # path relative to the repository root, e.g. docs/index.md
    lineno: int    # line of the opening fence in the expanded page
    code: str
    expected_output: str | None


@cache
def _snippets_config() -> dict:
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as handle:
        config = yaml_load(handle)
    for entry in config["markdown_extensions"]:
        if isinstance(entry, dict) and "pymdownx.snippets" in entry:
            return dict(entry["pymdownx.snippets"])
    raise PageError("mkdocs.yml does not configure pymdownx.snippets")


def expand(page: Path) -> str:
    """The page's Markdown with every snippet include replaced by the included text."""
    config = _snippets_config()
    config["base_path"] = [str(ROOT / p) for p in config.get("base_path", ["."])]
    md = markdown.Markdown(extensions=["pymdownx.snippets"],
                           extension_configs={"pymdownx.snippets": config})
    lines = page.read_text(encoding="utf-8").split("\n")
    try:
        return "\n".join(md.preprocessors["snippet"].run(lines))
    except Exception as error:  # SnippetMissingError and friends: name the page
        raise PageError(f"{page.relative_to(ROOT)}: {error}") from error


def python_blocks(page: Path) -> list[PageBlock]:
    """The page's executable Python blocks, in order, with their expected output."""
    name = str(page.relative_to(ROOT))
    try:
        blocks: list[CodeBlock] = extract_from_buffer(io.StringIO(expand(page)))
        source = extract_from_buffer(io.StringIO(page.read_text(encoding="utf-8")))
    except RuntimeError as error:
        raise PageError(f"{name}: {error}") from error
    # Report lines of the page as written, not as expanded, when the fences line up.
    if len(source) == len(blocks):
        for block, written in zip(blocks, source):
            block.lineno = written.lineno
    found = []
    for block in blocks:
        syntax = (block.syntax or "").strip()
        if syntax in SHELL_SYNTAX:
            raise PageError(f"{name}, line {block.lineno}: a ```{syntax} fence would be executed; "
                            "show commands for readers as ```console")
        if syntax not in RUN_SYNTAX:
            continue
        if block.marks or block.importorskip:
            raise PageError(f"{name}, line {block.lineno}: blocks on this site are never "
                            f"skipped or expected to fail (found {block.marks or block.importorskip})")
        found.append(PageBlock(name, block.lineno, block.code, block.expected_output))
    return found


def pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


def page_script(page: Path) -> str:
    """All of a page's Python blocks joined into the script a reader gets by copying them."""
    return "\n\n".join(block.code for block in python_blocks(page))
