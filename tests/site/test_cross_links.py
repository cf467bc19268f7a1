"""Cross-links between chapters.

Two rules from the chapter specification:

1. Every mention of another chapter in a page's prose is a link to that chapter's page.
2. No page links to, or names, a chapter that is not published, that is, whose file is not in
   mkdocs.yml's nav.

A mention is recognised in three forms, after code, HTML comments, headings and admonition
titles are removed and whitespace is collapsed (prose wraps lines anywhere):

* a chapter's title set off as a title: ``*Title*``, ``**Title**`` or ``"Title"``;
* ``chapter Title`` (the title right after the word "chapter");
* ``the <short name> chapter(s)``, with the short names readers use (``the GPT chapter``,
  ``the mini-transformer chapter``, ``the previous chapter`` ...).

The landing page's chapter table and study order list the outline of the whole guide; there an
unpublished chapter may be named (the page says chapters appear as they are published), but a
published one must still be linked.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# The nine chapter files are fixed by the outline; titles as the landing page names them, and the
# short names prose puts in front of "chapter".
CHAPTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "why_rnns_failed_at_scale.md": ("Why RNNs failed at scale", ("RNN", "RNNs", "recurrent")),
    "attention_mechanism_deep_dive.md": ("Attention mechanism deep dive", ("attention",)),
    "transformer_architecture_complete.md": ("The Transformer architecture, complete",
                                             ("Transformer",)),
    "bert_family.md": ("The BERT family", ("BERT", "BERT-family", "BERT family")),
    "gpt_family.md": ("The GPT family", ("GPT", "GPT-family", "GPT family")),
    "tokenization.md": ("Tokenization", ("tokenization", "tokenizer")),
    "word_embeddings_and_vector_representations.md": (
        "Word embeddings and vector representations",
        ("embeddings", "embedding", "word-embeddings", "word embeddings")),
    "fine_tuning_transformers.md": ("Fine-tuning transformers", ("fine-tuning",)),
    "building_mini_transformer.md": ("Building a mini transformer",
                                     ("mini-transformer", "mini transformer", "last", "final")),
}
# Relative references that name no chapter: always an error in prose, linked or not.
VAGUE = ("previous", "next", "preceding", "following")
# Sections of the landing page that may name unpublished chapters (the guide's outline).
OUTLINE_SECTIONS = ("The chapters", "Recommended study order")

NAV_PAGE = re.compile(r"^\s*-\s*(?:\"[^\"]*\"|[^:\"]+)\s*:\s*(\S+\.md)\s*$")
LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def published_chapters(mkdocs_yml: str) -> set[str]:
    """Chapter files in the nav (a chapter's entry page; its sections live in docs/<chapter>/)."""
    return set(nav_pages(mkdocs_yml)) & set(CHAPTERS)


def nav_pages(mkdocs_yml: str) -> list[str]:
    nav = mkdocs_yml.split("\nnav:", 1)[1]
    return [m.group(1) for line in nav.splitlines() if (m := NAV_PAGE.match(line))]


def chapter_of(page: str) -> str:
    """The chapter a page belongs to: itself, or the entry page of the folder it sits in."""
    folder = page.rpartition("/")[0]
    return f"{folder}.md" if folder else page


def prose(markdown: str, drop_sections: tuple[str, ...] = ()) -> str:
    """The page's prose on one line: no code, comments, includes, headings or admonition titles."""
    kept, in_fence, skipping = [], False, False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if stripped.startswith("#"):
            title = stripped.lstrip("#").strip()
            skipping = stripped.startswith("## ") and title in drop_sections or (
                skipping and not stripped.startswith("## "))
            continue
        if skipping or stripped.startswith(("???", "!!!", "--8<--")):
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)  # images: alt text is not prose
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class Mention:
    chapter: str | None  # None: "the previous chapter", which names no chapter
    start: int
    end: int
    text: str


def mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    for file, (title, short) in CHAPTERS.items():
        t = re.escape(title).replace(r"\ ", r"\s+")
        for pattern in (rf"(\*\*|\*|\"){t}(\1)", rf"\bchapter\s+{t}\b"):
            found += [Mention(file, m.start(), m.end(), m.group(0)) for m in re.finditer(pattern, text)]
    # "the X chapter": longest short names first, so "mini-transformer" wins over "transformer"
    names = sorted(((n, f) for f, (_, short) in CHAPTERS.items() for n in short),
                   key=lambda p: -len(p[0]))
    by_name = {n.lower(): f for n, f in names}
    alternation = "|".join(re.escape(n) for n, _ in names) + "|" + "|".join(VAGUE)
    for m in re.finditer(rf"(?<![\w-])({alternation})\s+chapters?\b", text, flags=re.I):
        word = m.group(1).lower()
        found.append(Mention(None if word in VAGUE else by_name[word], m.start(), m.end(),
                             m.group(0)))
    return found


def links(text: str, page: str = "x.md") -> list[tuple[int, int, str]]:
    """(start, end, chapter or page linked, relative to docs/) for each link in text; a link
    into one of a chapter's section pages counts as a link to that chapter."""
    out = []
    folder = page.rpartition("/")[0]
    for m in LINK.finditer(text):
        target = m.group(2).split("#", 1)[0]
        if target and not re.match(r"^[a-z]+:", target):
            target = posixpath.normpath(posixpath.join(folder, target))
        out.append((m.start(), m.end(), chapter_of(target) if chapter_of(target) in CHAPTERS else target))
    return out


def problems(page: str, markdown: str, published: set[str]) -> list[str]:
    """Everything wrong with one page's chapter references, as readable messages."""
    errors: list[str] = []
    full = prose(markdown)
    outline_free = prose(markdown, OUTLINE_SECTIONS) if page == "index.md" else full
    for start, end, target in links(full, page):
        if target in CHAPTERS and target not in published:
            errors.append(f"{page}: links to unpublished chapter {target}: {full[start:end]!r}")
    page_links = links(full, page)
    for m in mentions(full):
        if m.chapter is None:
            errors.append(f"{page}: {m.text!r} names no chapter; link the chapter by its title")
            continue
        if m.chapter == chapter_of(page):
            continue  # a page may name its own chapter
        linked = any(s <= m.start and m.end <= e and target == m.chapter
                     for s, e, target in page_links)
        if m.chapter in published and not linked:
            errors.append(f"{page}: mention of {m.chapter} is not a link to it: {m.text!r}")
    for m in mentions(outline_free):
        if m.chapter is not None and m.chapter not in published:
            errors.append(f"{page}: names unpublished chapter {m.chapter}: {m.text!r}")
    return errors


MKDOCS = (ROOT / "mkdocs.yml").read_text()
PUBLISHED = published_chapters(MKDOCS)
PAGES = [p for p in nav_pages(MKDOCS) if (DOCS / p).exists()]


def test_the_nav_lists_published_chapters():
    assert PUBLISHED <= set(CHAPTERS), PUBLISHED - set(CHAPTERS)
    assert {"attention_mechanism_deep_dive.md", "gpt_family.md"} <= PUBLISHED


@pytest.mark.parametrize("page", PAGES)
def test_chapter_mentions_are_links_and_name_only_published_chapters(page):
    assert problems(page, (DOCS / page).read_text(), PUBLISHED) == []


# The detector itself, on small pages whose answers are known.
def test_an_unlinked_mention_is_reported_and_a_linked_one_is_not():
    published = {"gpt_family.md", "tokenization.md"}
    bad = "As the GPT chapter shows, and as\nchapter *Tokenization* says."
    assert len(problems("x.md", bad, published)) == 2
    good = "As [the GPT chapter](gpt_family.md#kv) shows, and as [*Tokenization*](tokenization.md)."
    assert problems("x.md", good, published) == []


def test_a_link_to_the_wrong_chapter_does_not_count():
    text = "See [the GPT chapter](tokenization.md)."
    assert problems("x.md", text, {"gpt_family.md", "tokenization.md"}) != []


def test_unpublished_chapters_may_be_neither_linked_nor_named():
    published = {"gpt_family.md"}
    assert problems("x.md", "See [*The BERT family*](bert_family.md).", published) != []
    assert problems("x.md", "The BERT chapter will cover it.", published) != []
    assert problems("x.md", "the previous chapter", published) != []


def test_code_and_comments_are_not_prose_and_longer_names_win():
    text = ("```python\n# the GPT chapter\n```\n<!-- the GPT chapter -->\n`the GPT chapter`\n"
            "[the mini-transformer chapter](building_mini_transformer.md)")
    assert problems("x.md", text, {"gpt_family.md", "building_mini_transformer.md",
                                   "transformer_architecture_complete.md"}) == []


def test_the_landing_page_outline_may_name_unpublished_chapters_but_nowhere_else():
    page = ("## The chapters\n\n| 4 | The BERT family |\n\n## Recommended study order\n\n"
            "1. **The BERT family**: encoders.\n\n## Prerequisites\n\nThe BERT chapter.\n")
    errors = problems("index.md", page, {"gpt_family.md"})
    assert len(errors) == 1 and "BERT chapter" in errors[0]


def test_a_section_page_links_chapters_relative_to_its_folder():
    published = {"gpt_family.md", "tokenization.md"}
    page = "gpt_family/decoding.md"
    good = ("[The tokenization chapter](../tokenization/bpe.md#merges) and "
            "[the GPT chapter's overview](../gpt_family.md); the GPT chapter is this one.")
    assert problems(page, good, published) == []
    bad = "[The tokenization chapter](tokenization.md), which from here is a missing page."
    assert problems(page, bad, published) != []
