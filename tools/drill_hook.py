"""MkDocs hook: the interview drill page, generated at build time from the chapters.

Every chapter's interview questions are the collapsible admonitions (``??? question "..."``)
under its heading that contains "Interview". Each one declares its format and level once, on
the line directly above it:

    <!-- drill: format=implement level=onsite -->
    ??? question "Implement top-p (nucleus) filtering for a batch of logits."

Formats: walk-through (walk me through), why-failed (why did it fail), implement, compare.
Levels: screen, onsite, senior. A question without both is logged as a warning that names
the page, the line and the question, so `mkdocs build --strict` fails.

How the page is made (nothing is copied by hand, nothing is written into docs/):

- on_files adds interview_drill.md as a virtual file, only when the nav lists it;
- on_nav reads the chapters' Markdown in nav order: questions, formats, levels, lines;
- on_page_markdown gives the drill page its Markdown: the counts and one heading per chapter;
- on_page_content gives each question in its chapter an id (the link back) and a tag, and keeps
  the chapter's converted HTML of every answer, so the drill shows exactly what the chapter
  shows (math, code, tables);
- on_page_context puts the questions into the drill page, links rewritten for its URL;
- on_post_build writes the Anki export (tab-separated) next to the page.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

log = logging.getLogger("mkdocs.hooks.drill")

PAGE = "interview_drill.md"
EXPORT = "interview_drill_anki.tsv"
FORMATS = {
    "walk-through": "Walk me through",
    "why-failed": "Why did it fail",
    "implement": "Implement",
    "compare": "Compare",
}
LEVELS = {"screen": "Screen", "onsite": "Onsite", "senior": "Senior"}

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```+|~~~+)")
QUESTION = re.compile(r'^\?\?\?\+?\s+question\b\s*(?:"(?P<title>.*)")?\s*$')
ANNOTATION = re.compile(r"^\s*<!--\s*drill:(?P<body>.*?)-->\s*$")
HTML_HEADING = re.compile(r'<h([1-6])\b[^>]*\bid="([^"]*)"[^>]*>(.*?)</h\1>', re.S)
DETAILS_TAG = re.compile(r"<(/?)details\b[^>]*>")
QUESTION_CLASS = re.compile(r'\bclass="[^"]*\bquestion\b')
SUMMARY = re.compile(r"<summary\b[^>]*>(.*?)</summary>", re.S)
TAGS = re.compile(r"<[^>]+>")


@dataclass
class Question:
    chapter: str        # src path, e.g. gpt_family.md
    line: int           # line of the ??? question in the source
    title: str          # as written in the Markdown
    format: str | None
    level: str | None
    anchor: str = ""    # id of the question in its chapter
    summary_html: str = ""
    answer_html: str = ""

    @property
    def key(self) -> str:
        return f"{chapter_key(self.chapter)}/{self.anchor}"


@dataclass
class Chapter:
    """The questions of one page: src and url are the page's, title its chapter's, section the
    page's own title (a chapter's questions sit on several of its section pages)."""
    src: str
    title: str
    url: str
    questions: list[Question] = field(default_factory=list)
    section: str = ""


def by_chapter(pages: list["Chapter"]) -> list[tuple[str, list["Chapter"]]]:
    """The pages grouped by the chapter they belong to, in order: (chapter key, its pages)."""
    return [(key, list(group)) for key, group in groupby(pages, key=lambda c: chapter_key(c.src))]


def chapter_key(src: str) -> str:
    """The chapter a page belongs to, as its entry page's stem: gpt_family for gpt_family.md
    and for gpt_family/interview-questions.md alike."""
    return Path(src).parts[0].removesuffix(".md")

def slug(text: str) -> str:
    text = TAGS.sub("", html.unescape(text)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text)[:48].strip("-") or "question"


def parse_annotation(line: str) -> dict[str, str] | None:
    match = ANNOTATION.match(line)
    if not match:
        return None
    return dict(re.findall(r"(\w+)\s*=\s*([\w-]+)", match.group("body")))


def scan(markdown: str, chapter: str) -> tuple[list[Question], list[str]]:
    """The interview questions of one page's Markdown, and a problem message per bad one."""
    questions: list[Question] = []
    problems: list[str] = []
    in_fence: str | None = None
    section_level: int | None = None
    previous = ""  # last non-blank line outside fences
    for number, line in enumerate(markdown.split("\n"), start=1):
        fence = FENCE.match(line)
        if in_fence:
            if fence and fence.group(1)[0] == in_fence[0] and len(fence.group(1)) >= len(in_fence):
                in_fence = None
            continue
        if fence and not line.startswith((" ", "\t")):
            in_fence = fence.group(1)
            continue
        heading = HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if section_level is not None and level <= section_level:
                section_level = None
            if section_level is None and "interview" in heading.group(2).lower():
                section_level = level
        elif section_level is not None and (question := QUESTION.match(line)):
            title = question.group("title") or ""
            notes = parse_annotation(previous) or {}
            fmt, lvl = notes.get("format"), notes.get("level")
            missing = []
            if fmt not in FORMATS:
                missing.append(f"format (one of {', '.join(FORMATS)})"
                               + (f", not {fmt!r}" if fmt else ""))
            if lvl not in LEVELS:
                missing.append(f"level (one of {', '.join(LEVELS)})"
                               + (f", not {lvl!r}" if lvl else ""))
            if not title:
                missing.append('a title (??? question "...")')
            if missing:
                problems.append(
                    f"{chapter}, line {number}: interview question \"{title}\" lacks "
                    + " and ".join(missing)
                    + "; declare both on the line above it: <!-- drill: format=FORMAT level=LEVEL -->")
            questions.append(Question(chapter, number, title,
                                      fmt if fmt in FORMATS else None,
                                      lvl if lvl in LEVELS else None))
        if line.strip():
            previous = line
    return questions, problems


# Words of an author talking about the page's history, which an answer copied to the drill
# page and the Anki cards must not carry: the reader gets the right statement, and the
# Corrections page records what changed.
AUTHOR_NOTE = re.compile(
    r"\b(?:an?|the)\s+(?:earlier|previous|older)\s+(?:version|draft|edition|run)\b"
    r"|\bwhat was wrong\b|\bwe\s+(?:previously|used to)\b|\bpreviously\s+(?:said|stated|claimed)\b"
    r"|\b(?:this|the)\s+(?:page|section|table|chapter|answer)\s+(?:used to|once said|previously)\b",
    re.I)


def author_notes(markdown: str, chapter: str) -> list[str]:
    """One message per interview answer that talks about the page's own history."""
    lines = markdown.split("\n")
    questions, _ = scan(markdown, chapter)
    found = []
    for question in questions:
        body = [lines[question.line - 1]]
        for line in lines[question.line:]:
            if line.strip() and not line.startswith((" ", "\t")):
                break
            body.append(line)
        # A note may wrap across lines: search the answer as one string.
        match = AUTHOR_NOTE.search(" ".join(" ".join(body).split()))
        if match:
            found.append(f"{chapter}, line {question.line}: the answer to \"{question.title}\" "
                         f"carries an author's note ({match.group(0)!r}); state the right fact "
                         "and record the change on the Corrections page")
    return found


# ---------------------------------------------------------------------------------- HTML --

def interview_details(content: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each top-level <details> in the interview section of HTML."""
    start = end = None
    for match in HTML_HEADING.finditer(content):
        level = int(match.group(1))
        if start is None and "interview" in TAGS.sub("", match.group(3)).lower():
            start, section_level = match.end(), level
        elif start is not None and level <= section_level:
            end = match.start()
            break
    if start is None:
        return []
    end = len(content) if end is None else end
    spans, depth, opened, is_question = [], 0, 0, False
    for tag in DETAILS_TAG.finditer(content, start, end):
        if tag.group(1):
            depth -= 1
            if depth == 0 and is_question:
                spans.append((opened, tag.end()))
        else:
            if depth == 0:
                # other collapsibles (a section page's carried code) are not questions
                opened, is_question = tag.start(), QUESTION_CLASS.search(tag.group(0)) is not None
            depth += 1
    return spans


def tag_html(question: Question) -> str:
    return (f'<span class="drill-tag" title="Interview drill: format and level">'
            f"{FORMATS.get(question.format, 'no format')} · {LEVELS.get(question.level, 'no level')}"
            f"</span>")


def rewrite_answer(fragment: str, prefix: str, chapter_url: str, page_url: str) -> str:
    """Links and ids of a chapter's HTML, made right for another page of the same site."""
    ids = set(re.findall(r'\bid="([^"]+)"', fragment))

    def link(match: re.Match) -> str:
        attribute, value = match.group(1), html.unescape(match.group(2))
        parts = urlsplit(value)
        if parts.scheme or value.startswith(("/", "data:", "mailto:")):
            return match.group(0)
        if not parts.path and parts.fragment in ids:
            value = f"#{prefix}{parts.fragment}"
        else:
            target = urljoin(f"https://site.invalid/{chapter_url}", value)
            value = get_relative_url(target.removeprefix("https://site.invalid/") or ".", page_url)
            if target.endswith("/") and not value.endswith("/") and "#" not in value:
                value += "/"
        return f'{attribute}="{html.escape(value, quote=True)}"'

    fragment = re.sub(r'\b(href|src)="([^"]*)"', link, fragment)
    return re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', fragment)


# --------------------------------------------------------------------------------- state --

class State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.enabled = False
        self.chapters: dict[str, Chapter] = {}
        self.cards: list[tuple[Chapter, Question, str]] = []  # with the answer as on the drill page
        self.page_url = "interview_drill/"


STATE = State()


def in_nav(entries, name: str) -> bool:
    if isinstance(entries, str):
        return entries == name
    if isinstance(entries, dict):
        return any(in_nav(v, name) for v in entries.values())
    if isinstance(entries, list):
        return any(in_nav(v, name) for v in entries)
    return False


def on_files(files: Files, config) -> Files:
    STATE.reset()
    STATE.enabled = in_nav(config.nav or [], PAGE)
    if STATE.enabled:
        files.append(File.generated(config, PAGE, content="# Interview drill\n"))
    return files


def on_nav(nav, config, files):
    for page in nav.pages:
        src = page.file.src_uri
        if src == PAGE or not src.endswith(".md") or page.file.generated_by:
            continue
        questions, problems = scan(page.file.content_string, src)
        for problem in problems:
            log.warning("Interview drill: %s", problem)
        if questions:
            used: set[str] = set()
            for question in questions:
                anchor = "q-" + slug(question.title)
                while anchor in used:
                    anchor += "-2"
                used.add(anchor)
                question.anchor = anchor
            # a chapter's section pages sit under its nav section: the drill names the chapter
            title = page.parent.title if page.parent is not None else page.title
            STATE.chapters[src] = Chapter(src, title or src, page.url, questions,
                                          section=page.title or src)
    return nav


def on_page_content(content: str, page, config, files) -> str:
    chapter = STATE.chapters.get(page.file.src_uri)
    if chapter is None:
        return content
    spans = interview_details(content)
    if len(spans) != len(chapter.questions):
        log.warning("Interview drill: %s: found %d interview questions in the Markdown but %d in "
                    "the HTML", chapter.src, len(chapter.questions), len(spans))
        return content
    pieces, last = [], 0
    for question, (start, end) in zip(chapter.questions, spans):
        block = content[start:end]
        summary = SUMMARY.search(block)
        opening = block[:block.index(">")]
        question.summary_html = summary.group(1).strip() if summary else html.escape(question.title)
        question.answer_html = block[summary.end() if summary else len(opening) + 1:
                                     block.rindex("</details>")].strip()
        attributes = (f' id="{question.anchor}" data-drill-format="{question.format or ""}"'
                      f' data-drill-level="{question.level or ""}"')
        if summary:
            block = (opening + attributes + block[len(opening):summary.start(1)]
                     + summary.group(1) + " " + tag_html(question) + block[summary.end(1):])
        else:
            block = opening + attributes + block[len(opening):]
        pieces += [content[last:start], block]
        last = end
    pieces.append(content[last:])
    # drill.js opens the question a link from the drill page points at.
    script = get_relative_url("assets/js/drill.js", page.url)
    pieces.append(f'\n<script src="{script}" defer></script>\n')
    return "".join(pieces)


# ----------------------------------------------------------------------------- the page --

def counts_table(chapters: list[Chapter]) -> str:
    header = ["Chapter", "Questions", *FORMATS.values()]
    rows = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]

    def row(name: str, questions: list[Question]) -> str:
        cells = [name, str(len(questions))]
        cells += [str(sum(q.format == f for q in questions)) for f in FORMATS]
        return "| " + " | ".join(cells) + " |"

    for key, pages in by_chapter(chapters):  # one row a chapter, linked to its overview page
        rows.append(row(f"[{pages[0].title}]({key}.md)", [q for c in pages for q in c.questions]))
    everything = [q for c in chapters for q in c.questions]
    rows.append(row("**All chapters**", everything).replace(f"| {len(everything)} |",
                                                            f"| **{len(everything)}** |", 1))
    levels = ", ".join(f"{name.lower()} {sum(q.level == v for q in everything)}"
                       for v, name in LEVELS.items())
    return "\n".join(rows) + f"\n\nBy level, all chapters: {levels}."


def select(name: str, label: str, options: list[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{html.escape(v)}">{html.escape(t)}</option>'
                    for v, t in options)
    return (f'<label>{label} <select id="drill-{name}" data-filter="{name}">'
            f'<option value="">All</option>{items}</select></label>')


def page_markdown(chapters: list[Chapter], script: str) -> str:
    total = sum(len(c.questions) for c in chapters)
    controls = "".join([
        '<div class="drill-controls" id="drill-controls" hidden>',
        select("chapter", "Chapter", [(key, pages[0].title) for key, pages in by_chapter(chapters)]),
        select("format", "Format", list(FORMATS.items())),
        select("level", "Level", list(LEVELS.items())),
        select("status", "Marked", [("unmarked", "Not marked yet"), ("unknown", "Unknown"),
                                    ("known", "Known")]),
        '<button type="button" class="md-button" id="drill-shuffle">Shuffle</button>',
        '<button type="button" class="md-button md-button--primary" id="drill-start">'
        "Drill one at a time</button>",
        '<span class="drill-shown" id="drill-shown" aria-live="polite"></span>',
        "</div>",
        '<div class="drill-panel" id="drill-panel" hidden tabindex="-1"></div>',
        f'<script src="{script}" defer></script>',
    ])
    lines = [
        "# Interview drill",
        "",
        f"All **{total}** interview questions of the guide, with the answers their chapters give, "
        "collected when the site is built: a question added to a chapter appears here on the "
        "next build. Each carries its format and the level at which it tends to be asked, "
        "declared next to the question in its chapter, and a link back to its place there.",
        "",
        "Filter by chapter, format and level, shuffle, and drill one question at a time: "
        "reveal the answer, then mark it known or unknown. Keys in drill mode: "
        "<kbd>Space</kbd> reveals, <kbd>K</kbd> known, <kbd>U</kbd> unknown, "
        "<kbd>N</kbd> or <kbd>→</kbd> next, <kbd>P</kbd> or <kbd>←</kbd> previous, "
        "<kbd>S</kbd> shuffles, <kbd>Esc</kbd> leaves. Your marks stay in this browser's local "
        "storage; nothing is sent anywhere.",
        "",
        f'For spaced repetition: <a href="{EXPORT}" download>download the questions for Anki</a> '
        "(tab-separated: question, answer as HTML, tags; import it with File → Import, "
        "fields separated by tabs, HTML allowed).",
        "",
        controls,
        "",
        "## Counts",
        "",
        '<div class="drill-counts" markdown>',
        "",
        counts_table(chapters),
        "",
        "</div>",
        "",
    ]
    for _, pages in by_chapter(chapters):  # a heading a chapter, a subheading a section page
        lines += [f"## {pages[0].title}", ""]
        for page in pages:
            lines += [f"### {page.section}", ""] if len(pages) > 1 else []
            lines += [f"<!--drill-questions:{page.src}-->", ""]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != PAGE or not STATE.enabled:
        return markdown
    STATE.page_url = page.url
    script = get_relative_url("assets/js/drill.js", page.url)
    return page_markdown(list(STATE.chapters.values()), script)


def card_html(chapter: Chapter, question: Question, answer: str) -> str:
    stem = chapter_key(chapter.src)
    link = get_relative_url(chapter.url, STATE.page_url) + "#" + question.anchor
    return (
        f'<details class="question drill-card" id="{stem}--{question.anchor}"'
        f' data-key="{html.escape(question.key)}" data-chapter="{stem}"'
        f' data-format="{question.format or ""}" data-level="{question.level or ""}">\n'
        f"<summary>{question.summary_html} {tag_html(question)}</summary>\n"
        f'<div class="drill-answer">\n{answer}\n</div>\n'
        f'<p class="drill-source"><a href="{html.escape(link)}">'
        f"This question in {html.escape(chapter.title)}</a></p>\n</details>")


def on_page_context(context, page, config, nav):
    if page.file.src_uri != PAGE or not STATE.enabled:
        return context
    content = page.content
    STATE.cards = []
    for chapter in STATE.chapters.values():
        cards = []
        for question in chapter.questions:
            prefix = f"d{len(STATE.cards)}-"
            answer = rewrite_answer(question.answer_html, prefix, chapter.url, page.url)
            STATE.cards.append((chapter, question, answer))
            cards.append(card_html(chapter, question, answer))
        marker = f"<!--drill-questions:{chapter.src}-->"
        content = content.replace(marker, f'<div class="drill-list">\n{"".join(cards)}\n</div>')
    page.content = content
    return context


# ------------------------------------------------------------------------------- export --

def anki_field(text: str) -> str:
    """One field of a tab-separated line: no tab, no newline; line breaks kept inside <pre>."""
    def pre(match: re.Match) -> str:
        return match.group(0).replace("\n", "<br>")

    text = re.sub(r"<pre\b.*?</pre>", pre, text, flags=re.S)
    text = text.replace("\t", "    ").replace("\r", "")
    text = re.sub(r"\s*\n\s*", " ", text).strip()
    return "&quot;" + text[1:] if text.startswith('"') else text


def anki_tsv(cards, site_url: str) -> str:
    lines = ["#separator:tab", "#html:true", "#notetype:Basic",
             "#deck:Modern NLP & Transformers::Interview drill", "#tags column:3"]
    for chapter, question, _ in cards:
        link = urljoin(site_url or "", chapter.url) + "#" + question.anchor
        answer = rewrite_answer(question.answer_html, f"{chapter_key(chapter.src)}-{question.anchor}-", chapter.url,
                                chapter.url)
        # Absolute links, so that they work inside Anki.
        answer = re.sub(r'\b(href|src)="(?!#|[a-z]+:)([^"]*)"',
                        lambda m: f'{m.group(1)}="{urljoin(urljoin(site_url or "", chapter.url), m.group(2))}"',
                        answer)
        answer += f'<p><a href="{html.escape(link)}">{html.escape(chapter.title)}</a></p>'
        tags = " ".join([f"chapter::{chapter_key(chapter.src)}",
                         f"format::{question.format or 'none'}", f"level::{question.level or 'none'}"])
        lines.append("\t".join([anki_field(question.summary_html), anki_field(answer), tags]))
    return "\n".join(lines) + "\n"


def on_post_build(config) -> None:
    if not STATE.enabled:
        return
    target = Path(config.site_dir) / Path(STATE.page_url) / EXPORT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(anki_tsv(STATE.cards, config.site_url), encoding="utf-8")
