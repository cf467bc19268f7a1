"""Collect every Python block of every page in docs/ as a test.

A page's blocks share one namespace and run in order, as a reader runs them; printed output
is compared with the expected-output block under the code. Selecting one block (-k) runs
the blocks above it first, so it sees the names they define.
"""

from __future__ import annotations

import contextlib
import io
import os
import traceback

import pytest

from tools.pageblocks import DOCS, PageError, python_blocks

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".md" and DOCS in file_path.parents:
        return MarkdownPage.from_parent(parent, path=file_path)
    return None


class BlockFailure(Exception):
    pass


class MarkdownPage(pytest.File):
    def collect(self):
        try:
            self.blocks = python_blocks(self.path)
        except PageError as error:
            raise self.CollectError(str(error)) from None
        self.namespace: dict = {"__name__": "__main__"}
        self.results: list[str | None] = []  # per executed block: None, or why it failed
        self.crashed_at: int | None = None     # line of the first block that raised
        for index, block in enumerate(self.blocks):
            yield CodeBlockItem.from_parent(self, name=f"line {block.lineno}", index=index)

    def result_of(self, index: int) -> str | None:
        """Run the page's blocks up to `index` in order; return why block `index` failed."""
        while len(self.results) <= index:
            self.results.append(self._run(self.blocks[len(self.results)]))
        return self.results[index]

    def _run(self, block) -> str | None:
        where = f"{block.page}, line {block.lineno}"
        if self.crashed_at is not None:
            return f"{where}: not run, the block at line {self.crashed_at} raised first"
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout):
                exec(compile(block.code, f"{block.page}:{block.lineno}", "exec"), self.namespace)
        except Exception:
            self.crashed_at = block.lineno
            return f"{where} raised:\n{traceback.format_exc()}"
        output = stdout.getvalue()
        if block.expected_output is not None and output != block.expected_output:
            return (f"{where}: printed output differs from the page.\n"
                    f"--- the page shows ---\n{block.expected_output}"
                    f"--- the code printed ---\n{output}")
        return None


class CodeBlockItem(pytest.Item):
    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self):
        failure = self.parent.result_of(self.index)
        if failure is not None:
            raise BlockFailure(failure)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, BlockFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        block = self.parent.blocks[self.index]
        return self.path, block.lineno - 1, f"code block at line {block.lineno}"
