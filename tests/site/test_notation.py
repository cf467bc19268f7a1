"""One notation for the whole guide: the landing page's table, and the collisions it removed.

The table (docs/index.md, "Notation") gives every symbol one meaning: C is the model width and
D the head size, as in the code's shape comments, so training compute is C_train and training
tokens D_tok; L counts layers and N parameters; the loss is \\mathcal{L}. The checks below look
inside the math of every page in the nav for the spellings that used to collide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# (pattern inside a math span, what is wrong, what to write instead)
FORBIDDEN = [
    (r"6\s*N\s*D(?!_)", "6ND with a bare D (D is the head size)", r"6ND_{\text{tok}}"),
    (r"(?<![\w\\])C\s*(?:\\approx\s*6|=\s*6\s*N)", "C for training compute (C is the width)",
     r"C_{\text{train}} \approx 6ND_{\text{tok}}"),
    (r"(?<![\w\\])d_h\b|d_\{?\\text\{head\}\}?", "d_h / d_head for the head size", "D"),
    (r"\(B,\s*h,", "h for the number of heads in a shape", "(B, H, ...)"),
    (r"(?<![\w\\])L\((?:N|D)\b", "L(...) for a loss (L counts layers)", r"\mathcal{L}(N, ...)"),
    (r"(?<![\w\\])N\s*=\s*\d+\$?\s*layers", "N for the number of layers", "L"),
    (r"O\([^()]*(?<![\w\\])d(?![\w])[^()]*\)", "d in a complexity (the width is C)", "C"),
]
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)


def pages() -> list[str]:
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[1]
    found = re.findall(r":\s*([\w./-]+\.md)\s*$", nav, flags=re.M)
    return [p for p in found if "/" not in p and (DOCS / p).exists()]


def math_spans(markdown: str) -> list[str]:
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)  # code blocks are not math
    return MATH.findall(text)


def violations(markdown: str) -> list[str]:
    out = []
    for span in math_spans(markdown):
        for pattern, what, instead in FORBIDDEN:
            if re.search(pattern, span):
                out.append(f"{span.strip()[:80]!r}: {what}; write {instead}")
    return out


def test_the_landing_page_has_one_notation_table():
    index = (DOCS / "index.md").read_text()
    section = index.split("\n## Notation\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\$[^|]+\$) \|", section, flags=re.M)
    symbols = {r.strip("$ ") for r in rows}
    for needed in ["B", "T", "C", "H", "H_{kv}", "D", "F", "V", "L", "N", r"D_{\text{tok}}",
                   r"C_{\text{train}}", r"\mathcal{L}"]:
        assert needed in symbols, f"notation table lacks {needed}"
    assert len(rows) == len(symbols), "a symbol appears twice in the notation table"


@pytest.mark.parametrize("page", pages())
def test_pages_follow_the_notation(page):
    assert violations((DOCS / page).read_text()) == []


def test_the_checks_catch_the_old_collisions():
    old = ("$C \\approx 6ND$ and $N = 6$ layers, heads $(B, h, T, D)$, "
           "$L(N) = (N_c/N)^{0.076}$, $2 L H_{kv} d_h b$, $O(T^2 d)$")
    assert len(violations(old)) == 6
    new = ("$C_{\\text{train}} \\approx 6ND_{\\text{tok}}$ and $L = 6$ layers, $(B, H, T, D)$, "
           "$\\mathcal{L}(N)$, $2 L H_{kv} D b$, $O(T^2 C)$, $\\frac{d\\mathcal{L}}{dN}$")
    assert violations(new) == []
