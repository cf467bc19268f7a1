"""MkDocs hook: what a block prints looks like output, not like more code.

A page shows printed output in a ```text fence right after the marker
`<!--pytest-codeblocks:expected-output-->`, by which the test suite compares it with what the
code prints. The marker stays in the HTML as a comment, so the rendered block after it can be
found without touching the Markdown: it gets the class `output` (labelled and coloured by
docs/assets/css/output.css) and `no-copy`, which Material's JavaScript reads to leave out the
copy button (it adds one only where `!el.closest(".no-copy")`). Output is read, not pasted.
"""

from __future__ import annotations

import re

# The marker, then only whitespace, then the opening tag of the highlighted block.
OUTPUT_BLOCK = re.compile(
    r'(<!--\s*pytest-codeblocks:expected-output(?:-ignore-whitespace)?\s*-->\s*'
    r'<div class=")([^"]*\bhighlight\b[^"]*)(")')
OUTPUT_CLASSES = ("output", "no-copy")


def mark_output(html: str) -> str:
    """The page's HTML with every expected-output block marked as output."""
    def add_classes(match: re.Match) -> str:
        classes = match[2].split()
        classes += [c for c in OUTPUT_CLASSES if c not in classes]
        return f"{match[1]}{' '.join(classes)}{match[3]}"
    return OUTPUT_BLOCK.sub(add_classes, html)


def on_page_content(html: str, page, config, files) -> str:
    return mark_output(html)
