"""`mkdocs build --strict` fails, naming the page, on the mistakes a writer makes.

Each case builds a scratch copy of the site configuration with one small page.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.pageblocks import DOCS, ROOT

pytestmark = pytest.mark.site  # the scratch site links the real docs/assets (make setup)
FENCE = "```"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config[:config.index("\nnav:")] + "\nnav:\n  - Home: index.md\n  - Other: other.md\n"
    config = re.sub(r"(?m)^# Each chapter replaces.*$", "", config)
    (tmp_path / "mkdocs.yml").write_text(config)
    for folder in ("tools", "includes"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("overrides", "results"):  # the theme overrides and the results pages include
        (tmp_path / folder).symlink_to(ROOT / folder)
    (tmp_path / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
    (tmp_path / "figures").mkdir()
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "demo.py").write_text(
        "# --8<-- [start:square]\ndef square(x):\n    return x * x\n# --8<-- [end:square]\n")
    (tmp_path / "docs" / "labs").mkdir(parents=True)
    (tmp_path / "docs" / "assets").symlink_to(DOCS / "assets")
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A real heading\n")
    return tmp_path


def build(repo: Path, index: str) -> subprocess.CompletedProcess:
    (repo / "docs" / "index.md").write_text(index)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(repo / "site")],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def test_a_correct_page_builds(scratch):
    result = build(scratch, f"# Home\n\n{FENCE}python\n--8<-- \"snippets/demo.py:square\"\n{FENCE}\n\n"
                            "[other](other.md#a-real-heading)\n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_include_section_fails_naming_the_page(scratch):
    result = build(scratch, f"# Home\n\n{FENCE}python\n--8<-- \"snippets/demo.py:cube\"\n{FENCE}\n")
    assert result.returncode != 0
    assert "Error reading page 'index.md'" in result.stderr and "cube" in result.stderr


def test_missing_include_file_fails_naming_the_page(scratch):
    result = build(scratch, f"# Home\n\n{FENCE}python\n--8<-- \"snippets/nowhere.py:square\"\n{FENCE}\n")
    assert result.returncode != 0 and "Error reading page 'index.md'" in result.stderr


def test_broken_link_fails_naming_the_page(scratch):
    result = build(scratch, "# Home\n\nSee [the missing chapter](missing.md).\n")
    assert result.returncode != 0
    assert "Doc file 'index.md' contains a link 'missing.md'" in result.stderr


def test_broken_anchor_fails_naming_the_page(scratch):
    result = build(scratch, "# Home\n\nSee [a section](other.md#no-such-heading).\n")
    assert result.returncode != 0
    assert "'index.md' contains a link 'other.md#no-such-heading'" in result.stderr


def test_a_lab_that_raises_fails_the_build_naming_the_lab(scratch):
    (scratch / "docs" / "labs" / "broken_lab.py").write_text(
        "# %% [markdown]\n# # Broken lab\n\n# %%\nraise RuntimeError('this lab is broken')\n")
    config = (scratch / "mkdocs.yml").read_text().replace(
        "  - Other: other.md\n", "  - Other: other.md\n  - Lab: labs/broken_lab.py\n")
    (scratch / "mkdocs.yml").write_text(config)
    result = build(scratch, "# Home\n")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "broken_lab.py" in output and "this lab is broken" in output
