"""MkDocs hook: every Mermaid diagram is drawn at its natural size and scrolls when wide.

By default Mermaid scales an SVG down to the column width, so a wide left-to-right diagram's
labels end up at 4-7 px. An init directive at the top of each diagram turns that off; the
diagram's container scrolls sideways instead (docs/assets/css/extra.css).
"""

from __future__ import annotations

import json
import re

NATURAL_SIZE = "%%{init: " + json.dumps({kind: {"useMaxWidth": False} for kind in (
    "flowchart", "sequence", "timeline", "class", "state", "er", "gantt", "journey")}) + "}%%"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})mermaid[ \t]*\n", re.M)


def natural_size(markdown: str) -> str:
    """Insert the directive after each ```mermaid fence that does not set its own init."""
    def insert(match: re.Match) -> str:
        following = markdown[match.end():match.end() + 200].lstrip()
        if following.startswith("%%{init"):
            return match.group(0)
        return f"{match.group(0)}{match['indent']}{NATURAL_SIZE}\n"

    return FENCE.sub(insert, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return natural_size(markdown)
