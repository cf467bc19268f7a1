"""The harness fails loudly: wrong output, a raising block, a missing include, a shell fence.

Each case copies the harness (conftest.py, tools/, mkdocs.yml) into a scratch repository
with one page, runs pytest there, and checks the failure names the page.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.pageblocks import ROOT, python_blocks

FENCE = "```"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    for name in ("conftest.py", "mkdocs.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("tools", "includes"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "demo.py").write_text(
        "# --8<-- [start:square]\ndef square(x):\n    return x * x\n# --8<-- [end:square]\n")
    (tmp_path / "docs").mkdir()
    return tmp_path


def run_page(repo: Path, markdown: str) -> subprocess.CompletedProcess:
    (repo / "docs" / "page.md").write_text(textwrap.dedent(markdown).replace("~~~", FENCE))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "docs"],
                          cwd=repo, capture_output=True, text=True, timeout=300)


GOOD = """
    ~~~python
    --8<-- "snippets/demo.py:square"
    ~~~

    ~~~python
    print(square(7))
    ~~~

    <!--pytest-codeblocks:expected-output-->

    ~~~text
    49
    ~~~
    """


def test_a_correct_page_passes_and_blocks_share_names(scratch):
    result = run_page(scratch, GOOD)
    assert result.returncode == 0, result.stdout
    assert "2 passed" in result.stdout


def test_wrong_expected_output_fails(scratch):
    result = run_page(scratch, GOOD.replace("    49", "    48"))
    assert result.returncode == 1
    assert "docs/page.md, line 6: printed output differs" in result.stdout


def test_raising_block_fails_and_later_blocks_are_not_run(scratch):
    result = run_page(scratch, GOOD.replace("square(7)", "square(undefined_name)"))
    assert result.returncode == 1
    assert "docs/page.md, line 6 raised" in result.stdout and "NameError" in result.stdout


def test_missing_include_section_fails_collection_naming_the_page(scratch):
    result = run_page(scratch, GOOD.replace("demo.py:square", "demo.py:cube"))
    assert result.returncode != 0
    assert "docs/page.md" in result.stdout and "cube" in result.stdout


def test_broken_snippet_code_fails(scratch):
    (scratch / "snippets" / "demo.py").write_text(
        "# --8<-- [start:square]\ndef square(x):\n    return x * y\n# --8<-- [end:square]\n")
    result = run_page(scratch, GOOD)
    assert result.returncode == 1 and "NameError" in result.stdout


def test_shell_fence_is_refused(scratch):
    result = run_page(scratch, "~~~bash\necho hi\n~~~\n")
    assert result.returncode != 0 and "show commands for readers as ```console" in result.stdout


def test_skip_marker_is_refused(scratch):
    result = run_page(scratch, "<!--pytest.mark.skip-->\n~~~python\nprint(1)\n~~~\n")
    assert result.returncode != 0 and "never skipped" in result.stdout


def test_a_chapter_read_whole_runs_each_block_once():
    # the chapter's script is its sections' blocks in reading order, each section's carried
    # block left out: no block appears twice, and every section page of the folder is linked
    from tools.pageblocks import carried_block, sections, unit_blocks, units

    chapters = [u for u in units() if u.with_suffix("").is_dir()]
    assert len(chapters) == 9
    for overview in chapters:
        blocks = unit_blocks(overview)
        assert len({(b.page, b.lineno) for b in blocks}) == len(blocks)
        order = [overview, *sections(overview)]
        for k, section in enumerate(order[1:], start=1):
            carried = carried_block(section, python_blocks(section))
            if carried is not None:  # repeats earlier code only: every line ran before it
                before = {p.relative_to(ROOT).as_posix() for p in order[:k]}
                earlier = "\n".join(b.code for b in blocks if b.page in before)
                lines = [line for line in carried.code.splitlines() if line.strip()]
                assert all(line in earlier for line in lines), section
