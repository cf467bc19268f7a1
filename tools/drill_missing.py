"""List every interview question that lacks its drill format or level: page, line, title.

    python tools/drill_missing.py            # every page in docs/
    python tools/drill_missing.py docs/bert_family.md

Exit status 1 when any question lacks them. The syntax, on the line directly above the
question (tools/drill_hook.py reads it at build time):

    <!-- drill: format=implement level=onsite -->
    ??? question "Implement top-p (nucleus) filtering for a batch of logits."

Formats: walk-through, why-failed, implement, compare. Levels: screen, onsite, senior.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.drill_hook import FORMATS, LEVELS, scan  # noqa: E402


def main(paths: list[str]) -> int:
    docs = ROOT / "docs"
    pages = [Path(p).resolve() for p in paths] or sorted(docs.rglob("*.md"))
    missing = total = 0
    for page in pages:
        name = page.relative_to(docs).as_posix() if docs in page.parents else str(page)
        questions, _ = scan(page.read_text(encoding="utf-8"), name)
        total += len(questions)
        for q in questions:
            lacks = [what for what, value in (("format", q.format), ("level", q.level)) if value is None]
            if lacks or not q.title:
                missing += 1
                print(f"{name}:{q.line}: lacks {' and '.join(lacks) or 'a title'}: {q.title}")
    print(f"{missing} of {total} interview questions lack a format or level "
          f"(formats: {', '.join(FORMATS)}; levels: {', '.join(LEVELS)})", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
