"""Pages speak to readers: no author's correction notes anywhere a reader can meet them.

A page that was wrong is fixed and states the right thing; the story of the fix ("an earlier
version of this page said ...") goes to the Corrections page (docs/corrections.md, one table per
chapter in includes/corrections/). This reads every source a reader sees: the pages and what they
include, the labs, the results files the pages include, and, once the site is built, the
generated drill page and its Anki export, which copy the chapters' answers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.drill_hook import EXPORT
from tools.pageblocks import DOCS, ROOT
from tools.sitepages import SITE

# What an author writes about the page's own history, not about the subject.
AUTHOR_NOTES = re.compile(
    r"earlier\s+(version|draft|edition|revision)s?\s+of\s+(this|the)\s+(page|chapter|guide|answer|lab)"
    r"|an\s+earlier\s+(version|run|draft)\b"
    r"|previous\s+(version|run|draft)\s+of\s+(this|the)\b"
    r"|(this|the)\s+(page|chapter|answer|lab|table)\s+(used\s+to|previously|once)\s+(say|said|state|stated|claim|claimed|show|showed)"
    r"|what\s+was\s+wrong\s+(is|was|here)\b"
    r"|\b(we|I)\s+(previously|wrongly|mistakenly)\s+(said|wrote|stated|claimed)"
    r"|(was|were|has\s+been|have\s+been)\s+corrected\s+(on|in)\s+(this|the)\s+(page|chapter)",
    re.I)
CORRECTIONS = {DOCS / "corrections.md"} | set((ROOT / "includes" / "corrections").glob("*.md"))


def reader_sources() -> list[Path]:
    """Every file whose text a reader sees on the site, the Corrections page aside."""
    found = list(DOCS.rglob("*.md")) + list((DOCS / "labs").glob("*.py"))
    found += list((ROOT / "includes").rglob("*.md")) + list((ROOT / "results").glob("*.md"))
    return sorted(p for p in found if p not in CORRECTIONS)


def notes_in(text: str) -> list[str]:
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ") for m in AUTHOR_NOTES.finditer(text)]


def test_the_pattern_catches_author_notes_and_spares_the_subject():
    caught = ["An earlier version of this page said that ρ > 1 is needed.",
              "an earlier run of this benchmark reached 1.88",
              "What was wrong is the sign of the gradient.",
              "This page used to say that BERT cannot generate.",
              "We previously said the cache halves memory.",
              "ranks by the\nscore. (An earlier\nversion of this page said otherwise.)"]
    spared = ["An earlier layer computes the keys.", "What was wrong with RNNs at scale?",
              "The previous token's hidden state", "the run below, in an earlier section, trains"]
    assert all(notes_in(text) for text in caught), [t for t in caught if not notes_in(t)]
    assert not any(notes_in(text) for text in spared), [t for t in spared if notes_in(t)]


@pytest.mark.parametrize("source", reader_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_lab_or_included_file_carries_author_notes(source):
    found = notes_in(source.read_text(encoding="utf-8"))
    assert not found, (f"{source.relative_to(ROOT)} talks about its own history; state the right "
                       f"fact and record the correction in includes/corrections/: {found}")


def test_the_generated_drill_and_its_anki_export_carry_no_author_notes():
    generated = [SITE / "interview_drill" / "index.html", SITE / "interview_drill" / EXPORT]
    missing = [str(p) for p in generated if not p.exists()]
    assert not missing, f"build the site first (make test does): {missing}"
    for path in generated:
        found = notes_in(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(SITE)}: {found}"


def test_the_corrections_page_lists_corrections_for_every_chapter_it_names():
    page = (DOCS / "corrections.md").read_text(encoding="utf-8")
    includes = re.findall(r'--8<-- "(includes/corrections/[\w-]+\.md)"', page)
    assert includes, "docs/corrections.md includes no corrections table"
    rows = 0
    for include in includes:
        table = (ROOT / include).read_text(encoding="utf-8").strip().split("\n")
        assert table[0].startswith("| Date | Where | It said | What is right | Why |"), include
        for row in table[2:]:
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            assert len(cells) == 5 and all(cells), f"{include}: a row needs all five cells: {row}"
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[0]), f"{include}: date {cells[0]!r}"
            rows += 1
    assert rows > 0, "the Corrections page lists no correction"
