"""The landing page links every published chapter.

That each page, copied top to bottom, is a program that runs outside the repository is
tests/site/test_wheel.py's job: it runs every page from the installed wheel.
"""

import re

from tools.pageblocks import DOCS

CHAPTERS = [
    "why_rnns_failed_at_scale", "attention_mechanism_deep_dive",
    "transformer_architecture_complete", "bert_family", "gpt_family", "tokenization",
    "word_embeddings_and_vector_representations", "fine_tuning_transformers",
    "building_mini_transformer",
]


def test_landing_page_links_every_published_chapter():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for name in CHAPTERS:
        linked = re.search(rf"\]\({name}\.md(#[^)]*)?\)", index) is not None
        exists = (DOCS / f"{name}.md").exists()
        assert linked == exists, (
            f"{name}.md {'exists' if exists else 'does not exist'} but the landing page "
            f"{'links' if linked else 'does not link'} it")
