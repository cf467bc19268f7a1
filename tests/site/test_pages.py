"""Each page, copied top to bottom, is a program that runs; the landing page links every chapter."""

import os
import re
import subprocess
import sys

import pytest

from tools.pageblocks import DOCS, ROOT, page_script, pages

CHAPTERS = [
    "why_rnns_failed_at_scale", "attention_mechanism_deep_dive",
    "transformer_architecture_complete", "bert_family", "gpt_family", "tokenization",
    "word_embeddings_and_vector_representations", "fine_tuning_transformers",
    "building_mini_transformer",
]


@pytest.mark.parametrize("page", [p for p in pages() if page_script(p)],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_page_runs_as_one_script_outside_the_repository(page, tmp_path):
    script = tmp_path / f"{page.stem}.py"
    script.write_text(page_script(page), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{page.relative_to(ROOT)} as one script failed:\n{result.stderr[-3000:]}")


def test_landing_page_links_every_published_chapter():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for name in CHAPTERS:
        linked = re.search(rf"\]\({name}\.md(#[^)]*)?\)", index) is not None
        exists = (DOCS / f"{name}.md").exists()
        assert linked == exists, (
            f"{name}.md {'exists' if exists else 'does not exist'} but the landing page "
            f"{'links' if linked else 'does not link'} it")
