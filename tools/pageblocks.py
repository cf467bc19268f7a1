"""Find and run the Python blocks of the guide's pages, exactly as a reader sees them.

Includes (``--8<--``) are expanded by pymdownx.snippets itself, configured from
mkdocs.yml, before pytest-codeblocks' parser collects the blocks. Used by the root
conftest.py (one test per block) and by the site tests (counts, page scripts, CPU kernels).

Run as a program, it runs one page's blocks in order (a chapter's overview: the whole chapter)
and compares what they print with the page (the CPU-kernel test starts it under other ATen
kernels and thread counts):

    python -m tools.pageblocks docs/gpt_family.md --threads 1 --capability DEFAULT

or blocks already extracted to JSON (`dump_blocks`), by a copy of this file that runs outside
the repository, where `snippets` must come from an installed wheel (tests/site/test_wheel.py):

    python pageblocks.py --blocks gpt_family.json --threads 2 --capability DEFAULT
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import io
import json
import re
import sys
import traceback
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
        raise PageError(f"{_name(page)}: {error}") from error


def _name(page: Path) -> str:
    page = page.resolve()
    return str(page.relative_to(ROOT)) if ROOT in page.parents else str(page)


def python_blocks(page: Path) -> list[PageBlock]:
    """The page's executable Python blocks, in order, with their expected output."""
    name = _name(page)
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


def dump_blocks(blocks: list[PageBlock]) -> str:
    """Blocks as JSON, for `--blocks`: running them then needs neither the page nor its includes."""
    return json.dumps([dataclasses.asdict(block) for block in blocks])


def pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


# --- Chapters: an overview page and its section pages -----------------------------------------
# A chapter is docs/<chapter>.md (its overview, with a table that links its sections in reading
# order) and docs/<chapter>/*.md. A section page runs on its own: it opens with a collapsed block
# that repeats the part of the earlier sections' code it uses. Read as one chapter, that block
# is code already run, so a chapter's run leaves it out.
CARRIED_TITLE = '??? example "Run this page\'s code: the code from earlier sections that it uses"'


def sections(overview: Path) -> list[Path]:
    """A chapter's section pages in reading order: the links of its overview, first mention."""
    folder = overview.with_suffix("")
    found: list[Path] = []
    for target in re.findall(rf"\]\({re.escape(folder.name)}/([\w-]+\.md)(?:#[^)]*)?\)",
                             overview.read_text(encoding="utf-8")):
        if folder / target not in found:
            found.append(folder / target)
    return found


def carried_block(page: Path, blocks: list[PageBlock]) -> PageBlock | None:
    """The block under CARRIED_TITLE at the top of a section page, if it has one."""
    lines = page.read_text(encoding="utf-8").split("\n")
    if not blocks or CARRIED_TITLE not in lines[:4]:
        return None
    title = lines.index(CARRIED_TITLE) + 1
    return blocks[0] if title < blocks[0].lineno <= title + 8 else None


def units() -> list[Path]:
    """What runs as one script: each page that is not a section, a chapter as its overview."""
    return [page for page in pages() if page.parent == DOCS or not page.parent.with_suffix(".md").exists()]


def unit_blocks(page: Path) -> list[PageBlock]:
    """The blocks of a page; for a chapter's overview, those of the overview and then of every
    section in reading order, without the code each section carries from the ones before it."""
    blocks = python_blocks(page)
    for section in sections(page):
        own = python_blocks(section)
        carried = carried_block(section, own)
        blocks += [b for b in own if b is not carried]
    missing = sorted(set(page.with_suffix("").glob("*.md")) - set(sections(page)))
    if missing:
        raise PageError(f"{page.name}: section pages that its overview does not link: "
                        f"{[p.name for p in missing]}")
    return blocks


def unit_script(page: Path) -> str:
    return "\n\n".join(block.code for block in unit_blocks(page))


def page_script(page: Path) -> str:
    """All of a page's Python blocks joined into the script a reader gets by copying them."""
    return "\n\n".join(block.code for block in python_blocks(page))


# --- Pages that train -----------------------------------------------------------------------
# Training amplifies the last-bit differences between CPU kernels about 10^4-fold, so a page
# that trains and prints is run again under other kernels (tests/site/test_cpu_kernels.py).
# "Trains" is read from the code: a backward pass and an update (`.backward(` with an
# optimiser's `.step(`, or with a hand-written `p -= lr * p.grad` / `p.sub_(... p.grad ...)`), on
# the page itself or inside a function or method of snippets/ that the page calls, however deep
# the calls go within snippets/. Gradients without an update (a gradient check, a FLOP count)
# do not train: nothing amplifies their last-bit differences.

@dataclass
class _Calls:
    names: set[str]        # f(...)
    attrs: set[str]        # x.f(...)
    updates: bool          # a backward pass and an update: this code trains by itself


def _uses_grad(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def _calls(tree: ast.AST) -> _Calls:
    names, attrs, manual_update = set(), set(), False
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and _uses_grad(node.value):
            manual_update = True
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                attrs.add(node.func.attr)
                if node.func.attr in ("sub_", "add_") and any(map(_uses_grad, node.args)):
                    manual_update = True
    updates = "backward" in attrs and ("step" in attrs or manual_update)
    return _Calls(names, attrs, updates)


@cache
def library_trainers() -> tuple[frozenset[str], frozenset[str]]:
    """(functions, methods) of snippets/ that train, directly or through other ones."""
    functions: dict[str, list[_Calls]] = {}
    methods: dict[str, list[_Calls]] = {}
    for path in sorted((ROOT / "snippets").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.setdefault(node.name, []).append(_calls(node))
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        methods.setdefault(item.name, []).append(_calls(item))
    found_f: set[str] = set()
    found_m: set[str] = set()
    changed = True
    while changed:  # a fixed point: train() calls train_step(), which steps the optimiser
        changed = False
        for table, found in ((functions, found_f), (methods, found_m)):
            for name, bodies in table.items():
                if name not in found and any(_trains(c, found_f, found_m) for c in bodies):
                    found.add(name)
                    changed = True
    return frozenset(found_f), frozenset(found_m)


def _trains(calls: _Calls, functions: set[str] | frozenset[str],
            methods: set[str] | frozenset[str]) -> bool:
    return calls.updates or bool(calls.names & functions) or bool(calls.attrs & methods)


def code_trains(code: str) -> bool:
    """Whether code trains a model itself or calls a library function that does."""
    return _trains(_calls(ast.parse(code)), *library_trainers())


def training_pages() -> list[Path]:
    """The pages and chapters (units()) whose blocks train a model, and so may print
    kernel-dependent numbers."""
    return [page for page in units() if code_trains(unit_script(page))]


# --- Running a page's blocks outside pytest -------------------------------------------------

def check_blocks(blocks: list[PageBlock]) -> list[str]:
    """Run blocks in order in one namespace; return one message per block that failed."""
    namespace: dict = {"__name__": "__main__"}
    failures = []
    for block in blocks:
        where = f"{block.page}, line {block.lineno}"
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout):
                exec(compile(block.code, f"{block.page}:{block.lineno}", "exec"), namespace)
        except Exception:
            return failures + [f"{where} raised:\n{traceback.format_exc()}"]
        output = stdout.getvalue()
        if block.expected_output is not None and output != block.expected_output:
            failures.append(f"{where}: printed output differs from the page.\n"
                            f"--- the page shows ---\n{block.expected_output}"
                            f"--- the code printed ---\n{output}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pageblocks", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("page", type=Path, nargs="?")
    source.add_argument("--blocks", type=Path, help="JSON from dump_blocks instead of a page")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads before the blocks")
    parser.add_argument("--capability", help="fail unless ATen runs these kernels "
                        "(DEFAULT, AVX2, ...), so that a variant cannot silently fall back")
    args = parser.parse_args(argv)
    import torch  # only here: collecting pages must not need torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    capability = torch.backends.cpu.get_cpu_capability()
    if args.capability is not None and capability != args.capability:
        print(f"ATen runs {capability} kernels, not {args.capability}", file=sys.stderr)
        return 2
    if args.blocks is not None:
        blocks = [PageBlock(**b) for b in json.loads(args.blocks.read_text(encoding="utf-8"))]
    else:
        blocks = unit_blocks(args.page)
    failures = check_blocks(blocks)
    for failure in failures:
        print(failure)
    name = blocks[0].page if blocks else str(args.blocks)
    print(f"{name}: {len(failures)} failing block(s) with {capability} kernels and "
          f"{torch.get_num_threads()} thread(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
