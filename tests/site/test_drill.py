"""The interview drill page (tools/drill_hook.py, docs/assets/js/drill.js).

- Reading the chapters: every interview question is found, with its format and level; one
  without them is reported with page, line and title.
- The strict build fails, naming page and question, when a question lacks its format or level.
- The built page shows as many questions as the published chapters hold, and the Anki export
  has one line per question.
- In the browser: filters, shuffle, reveal and marks work, with the keyboard, offline.
"""

from __future__ import annotations

import csv
import re

import pytest
from bs4 import BeautifulSoup
from mkdocs.utils.yaml import yaml_load

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser  # noqa: F401 (fixtures)
from tests.site.test_build_failures import build, scratch  # noqa: F401 (fixture)
from tools.drill_hook import EXPORT, FORMATS, LEVELS, author_notes, scan
from tools.pageblocks import DOCS, ROOT
from tools.sitepages import SITE

DRILL = SITE / "interview_drill"
CHAPTER = '''# A chapter

## Interview questions

<!-- drill: format=implement level=onsite -->
??? question "Implement a thing."
    Like this: $x^2$.

{second}??? question "Why did the other thing fail?"
    Because.

## References
'''


# ---------------------------------------------------------------------------- the reader --

def test_scan_reads_format_level_and_line():
    questions, problems = scan(CHAPTER.format(second="<!-- drill: format=why-failed level=senior -->\n"),
                               "a.md")
    assert problems == []
    assert [(q.title, q.format, q.level, q.line) for q in questions] == [
        ("Implement a thing.", "implement", "onsite", 6),
        ("Why did the other thing fail?", "why-failed", "senior", 10)]


@pytest.mark.parametrize("annotation, lacks", [
    ("", "format (one of walk-through, why-failed, implement, compare) and level"),
    ("<!-- drill: format=compare -->\n", "level (one of screen, onsite, senior)"),
    ("<!-- drill: level=screen -->\n", "format (one of"),
    ("<!-- drill: format=explain level=screen -->\n", "format (one of walk-through, why-failed, "
                                                      "implement, compare), not 'explain'"),
])
def test_scan_names_page_line_and_question_when_format_or_level_is_missing(annotation, lacks):
    _, problems = scan(CHAPTER.format(second=annotation), "a.md")
    assert len(problems) == 1
    line = 10 if annotation else 9
    assert problems[0].startswith(f'a.md, line {line}: interview question "Why did the other thing fail?" lacks {lacks}')


def test_scan_ignores_questions_outside_the_interview_section_and_in_code():
    text = ('# C\n\n??? question "Not an interview question"\n    x\n\n## Interview questions\n\n'
            '```markdown\n??? question "In a fence"\n```\n\n'
            '<!-- drill: format=compare level=screen -->\n??? question "Real"\n    y\n')
    questions, problems = scan(text, "c.md")
    assert [q.title for q in questions] == ["Real"] and problems == []


def test_author_notes_are_found_in_answers_only_even_across_lines():
    text = ("# C\n\nAn earlier version of this page, outside the interview.\n\n"
            "## Interview questions\n\n<!-- drill: format=compare level=screen -->\n"
            '??? question "Q1"\n    Right. An earlier\n    version said otherwise.\n\n'
            '<!-- drill: format=compare level=screen -->\n??? question "Q2"\n'
            "    The version of this model released earlier.\n")
    notes = author_notes(text, "c.md")
    assert len(notes) == 1 and notes[0].startswith('c.md, line 8: the answer to "Q1"'), notes


@pytest.mark.parametrize("chapter", sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")))
def test_no_answer_copied_to_the_drill_and_anki_carries_an_authors_note(chapter):
    assert author_notes((DOCS / chapter).read_text(encoding="utf-8"), chapter) == []


# --------------------------------------------------------------------- the strict build --

@pytest.fixture
def drill_scratch(scratch):
    """The shared scratch site, plus what mkdocs.yml names that the scratch copy lacks."""
    for name in ("overrides", "pyproject.toml", "results", "snippets", "figures", "includes"):
        if (ROOT / name).exists() and not (scratch / name).exists():
            (scratch / name).symlink_to(ROOT / name)
    return scratch


def drill_site(scratch, second: str):
    config = (scratch / "mkdocs.yml").read_text()
    config = config.replace("  - Other: other.md\n",
                            "  - Other: other.md\n  - Drill: interview_drill.md\n")
    (scratch / "mkdocs.yml").write_text(config)
    (scratch / "docs" / "other.md").write_text(CHAPTER.format(second=second))
    return build(scratch, "# Home\n")


@pytest.mark.site  # the scratch site links the real docs/assets (make setup)
def test_a_question_without_its_level_fails_the_build_naming_page_and_question(drill_scratch):
    result = drill_site(drill_scratch, "<!-- drill: format=compare -->\n")
    assert result.returncode != 0
    assert re.search(r'other\.md, line 10: interview question "Why did the other thing fail\?" '
                     r"lacks level", result.stderr), result.stderr


@pytest.mark.site
def test_a_question_without_its_format_fails_the_build_naming_page_and_question(drill_scratch):
    result = drill_site(drill_scratch, "")
    assert result.returncode != 0
    assert 'other.md, line 9: interview question "Why did the other thing fail?" lacks format' in result.stderr


@pytest.mark.site
def test_annotated_questions_build_into_the_drill_page_and_export(drill_scratch):
    scratch = drill_scratch
    result = drill_site(scratch, "<!-- drill: format=why-failed level=senior -->\n")
    assert result.returncode == 0, result.stderr
    page = BeautifulSoup((scratch / "site" / "interview_drill" / "index.html").read_text(), "html.parser")
    cards = page.select(".drill-card")
    assert [c["data-format"] for c in cards] == ["implement", "why-failed"]
    # the chapter's own HTML: its formula, typeset at build time, keeps the TeX in KaTeX's annotation
    assert cards[0].select_one(".arithmatex annotation").get_text() == "x^2"
    link = cards[1].select_one(".drill-source a")["href"]
    chapter = BeautifulSoup((scratch / "site" / "other" / "index.html").read_text(), "html.parser")
    assert link.startswith("../other/#") and chapter.select_one(f"details#{link.split('#')[1]}")
    rows = (scratch / "site" / "interview_drill" / EXPORT).read_text().splitlines()
    assert rows[0] == "#separator:tab" and len([r for r in rows if not r.startswith("#")]) == 2


# ---------------------------------------------------------------------- the built page --

def published_chapters() -> list[str]:
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as handle:
        nav = yaml_load(handle)["nav"]
    found: list[str] = []

    def walk(entry):
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)
        elif isinstance(entry, list):
            for value in entry:
                walk(value)

    walk(nav)
    return [p for p in found if p.endswith(".md") and (DOCS / p).exists()]


def questions_in_chapters() -> int:
    """Counted directly from the Markdown: ??? question lines after an Interview heading."""
    total = 0
    for name in published_chapters():
        text = (DOCS / name).read_text(encoding="utf-8")
        match = re.search(r"(?m)^(#+) [^\n]*[Ii]nterview[^\n]*$", text)
        if not match:
            continue
        level = len(match.group(1))
        section = text[match.end():]
        end = re.search(rf"(?m)^#{{1,{level}}} ", section)
        section = section[:end.start()] if end else section
        total += len(re.findall(r'(?m)^\?\?\?\+? question "', section))
    return total


@pytest.fixture(scope="module")
def drill_html() -> BeautifulSoup:
    if not (DRILL / "index.html").exists():
        pytest.fail("site/interview_drill/ is not built: run `make build` (make test does it first)")
    return BeautifulSoup((DRILL / "index.html").read_text(encoding="utf-8"), "html.parser")


@pytest.mark.site
def test_page_count_equals_questions_in_the_chapters(drill_html):
    expected = questions_in_chapters()
    assert expected >= 12
    cards = drill_html.select("article .drill-card")
    assert len(cards) == expected
    total_row = drill_html.select(".drill-counts table tr")[-1]
    assert total_row.select("td")[1].get_text(strip=True) == str(expected)
    per_format = [int(td.get_text(strip=True)) for td in total_row.select("td")[2:2 + len(FORMATS)]]
    assert per_format == [sum(c["data-format"] == f for c in cards) for f in FORMATS]
    assert {c["data-level"] for c in cards} <= set(LEVELS)
    with open(DRILL / EXPORT, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                if not r[0].startswith("#")]
    assert len(rows) == expected and all(len(r) == 3 for r in rows)


@pytest.mark.site
def test_every_question_links_back_to_its_place_in_its_chapter(drill_html):
    for card in drill_html.select("article .drill-card"):
        href = card.select_one(".drill-source a")["href"]
        path, anchor = href.split("#")
        chapter = (DRILL / path / "index.html").resolve()
        html = chapter.read_text(encoding="utf-8")
        assert f'id="{anchor}"' in html, f"{href} does not exist"


# ------------------------------------------------------------------------ in the browser --

@pytest.mark.site
def test_filters_shuffle_reveal_and_marks_work_offline(browser, base_url):  # noqa: F811
    visit = Visit(browser, base_url + "interview_drill/")
    try:
        page = visit.page
        total = page.locator(".drill-card").count()
        assert total == questions_in_chapters()
        assert page.locator("#drill-controls").is_visible()

        def shown() -> int:
            return page.locator(".drill-card:visible").count()

        assert shown() == total
        page.select_option("#drill-format", "implement")
        implement = shown()
        assert 0 < implement < total
        assert page.locator(".drill-card:visible[data-format=implement]").count() == implement
        page.select_option("#drill-format", "")
        chapter = page.locator(".drill-card").first.get_attribute("data-chapter")
        page.select_option("#drill-chapter", chapter)
        in_chapter = page.locator(f".drill-card[data-chapter={chapter}]").count()
        assert shown() == in_chapter
        page.select_option("#drill-level", "senior")
        assert shown() == page.locator(f".drill-card[data-chapter={chapter}][data-level=senior]").count()
        page.select_option("#drill-chapter", "")
        page.select_option("#drill-level", "")
        assert page.locator("#drill-shown").inner_text() == f"{total} of {total} questions shown"

        # Drill mode, from the keyboard: shuffle, reveal, mark, next.
        page.locator("#drill-shuffle").click()
        panel = page.locator("#drill-panel")
        assert panel.is_visible()
        order = panel.get_attribute("data-order").split()
        in_page = [c.get_attribute("data-key") for c in page.locator(".drill-card").all()]
        assert sorted(order) == sorted(in_page) and len(order) == total
        assert order != in_page  # 70! orders: equal by chance with probability ~1e-100
        first = panel.get_attribute("data-key")
        assert not panel.locator(".drill-answer").is_visible()
        page.keyboard.press("Space")
        assert panel.locator(".drill-answer").is_visible()
        assert panel.locator(".drill-answer").inner_text().strip()
        page.keyboard.press("Space")
        assert not panel.locator(".drill-answer").is_visible()
        page.keyboard.press("k")  # known, and on to the next question
        assert panel.get_attribute("data-key") == order[1]
        page.keyboard.press("ArrowLeft")
        assert panel.get_attribute("data-key") == first
        stored = page.evaluate("JSON.parse(localStorage.getItem('modern-nlp-drill-v1'))")
        assert stored == {first: "known"}
        page.select_option("#drill-status", "known")
        assert shown() == 1
        page.keyboard.press("Escape")
        assert not panel.is_visible()

        # The mark survives a reload (local storage only).
        page.reload(wait_until="networkidle")
        assert page.locator(f".drill-card[data-key='{first}']").get_attribute("data-mark") == "known"
        assert visit.external == [], f"the drill page requested hosts off this machine: {visit.external}"
        assert visit.errors == [], visit.errors
    finally:
        visit.close()


@pytest.mark.site
def test_the_link_back_opens_the_question_in_its_chapter(browser, base_url):  # noqa: F811
    visit = Visit(browser, base_url + "interview_drill/")
    try:
        page = visit.page
        card = page.locator(".drill-card").nth(3)
        card.locator("summary").click()
        link = card.locator(".drill-source a")
        anchor = link.get_attribute("href").split("#", 1)[1]
        assert anchor.startswith("q-")
        link.click()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # off-screen blocks take their real height (content-visibility)
        # the reader lands on the question, opened, whatever the scroll tracking does to the hash
        target = page.locator(f"[id='{anchor}']")
        assert target.evaluate("e => e.open") is True
        top = target.evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= top < page.viewport_size["height"] * 0.75, f"the question is at y = {top}, off screen"
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()


@pytest.mark.site
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_drill_page(browser, base_url, scheme):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, base_url + "interview_drill/", scheme=scheme)
    try:
        page = visit.page
        expected = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == expected
        page.locator("#drill-start").click()
        page.keyboard.press("Space")
        page.wait_for_timeout(300)
        page.screenshot(path=SCREENSHOTS / f"drill-{scheme}.png", full_page=False)
        page.keyboard.press("Escape")
        page.locator(".drill-card").first.locator("summary").click()
        page.locator(".drill-card").first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"drill-list-{scheme}.png", full_page=False)
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()
    for name in (f"drill-{scheme}.png", f"drill-list-{scheme}.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, f"{name} looks empty"


@pytest.mark.site
def test_each_chapter_has_one_heading_one_counts_row_and_one_filter_option(drill_html):
    """A chapter's questions sit on several of its section pages: the drill still names the chapter
    once (its pages as subheadings), in the counts and in the chapter filter."""
    chapters = [h.get_text(" ", strip=True).rstrip("¶").strip() for h in drill_html.select("article h2")]
    chapters.remove("Counts")
    assert len(chapters) == len(set(chapters)) >= 9
    options = [o.get_text(strip=True) for o in drill_html.select("#drill-chapter option") if o["value"]]
    assert options == chapters
    rows = drill_html.select(".drill-counts table tr")[1:-1]  # the header and the total left out
    assert [r.select_one("td").get_text(strip=True) for r in rows] == chapters
