"""MkDocs hook: arXiv ids and DOIs in a page's References become links.

A References section runs from a heading that says "References" to the next heading of the same
or a higher level. In it, `arXiv:1706.03762` links to https://arxiv.org/abs/1706.03762 and
`doi:10.1162/neco.1997.9.8.1735` to https://doi.org/10.1162/neco.1997.9.8.1735; an id that is
already inside a link is left alone.
"""

from __future__ import annotations

import re

HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.*)$")
ARXIV = re.compile(r"(?<![\[/\w])arXiv:\s?(?P<id>\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)")
DOI = re.compile(r"(?<![\[/\w])(?:doi|DOI):\s?(?P<id>10\.\d{4,9}/[^\s\]\)<>]*[^\s\]\)<>.,;:])")


def link_ids(line: str) -> str:
    line = ARXIV.sub(lambda m: f"[arXiv:{m['id']}](https://arxiv.org/abs/{m['id']})", line)
    return DOI.sub(lambda m: f"[doi:{m['id']}](https://doi.org/{m['id']})", line)


def link_references(markdown: str) -> str:
    out, section_level, fence = [], None, None
    for line in markdown.split("\n"):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        elif fence is None and (heading := HEADING.match(line)):
            level = len(heading["level"])
            if section_level is not None and level <= section_level:
                section_level = None
            if re.search(r"\breferences\b", heading["title"], re.I):
                section_level = level
        elif fence is None and section_level is not None:
            line = link_ids(line)
        out.append(line)
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return link_references(markdown)
