"""MkDocs hook: the table of contents and the search index read as text, not as TeX or code.

KaTeX typesets math in the page body only. A heading such as "Why divide by $\\sqrt{d_k}$"
would otherwise show `\\(\\sqrt{d_k}\\)` in the sidebar, and search previews would carry
display formulas and whole code blocks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "phi": "φ", "varphi": "φ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ", "Pi": "Π",
    "Theta": "Θ", "Omega": "Ω", "nabla": "∇", "partial": "∂", "infty": "∞", "times": "×",
    "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…", "approx": "≈", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "in": "∈", "sum": "Σ", "prod": "Π", "propto": "∝", "sim": "~", "top": "ᵀ", "pm": "±",
    "mid": "|", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖", "langle": "⟨", "rangle": "⟩",
    "log": "log", "exp": "exp", "max": "max", "min": "min", "quad": " ", "qquad": " ",
    ",": " ", ";": " ", "!": "", " ": " ",
}
SUPERSCRIPTS = str.maketrans("0123456789+-=()nT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿᵀ")
INLINE = re.compile(r"\\\((.+?)\\\)", re.S)
DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.S)
BRACED = r"\{((?:[^{}]|\{[^{}]*\})*)\}"


def tex_to_text(tex: str) -> str:
    """One TeX expression (without delimiters) as readable Unicode text."""
    text = tex.strip()
    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])", "", text)
    for command in ("mathrm", "mathbf", "mathit", "mathcal", "mathbb", "text", "textrm",
                    "operatorname", "boldsymbol", "hat", "tilde", "bar", "overline"):
        text = re.sub(rf"\\{command}\s*{BRACED}", r"\1", text)
    text = re.sub(rf"\\sqrt\s*{BRACED}", lambda m: "√" + (m[1] if len(m[1]) <= 3 else f"({m[1]})"), text)
    text = re.sub(rf"\\frac\s*{BRACED}\s*{BRACED}",
                  lambda m: "/".join(p if len(p) <= 3 else f"({p})" for p in (m[1], m[2])), text)
    text = re.sub(r"\\([a-zA-Z]+|.)", lambda m: SYMBOLS.get(m[1], m[1]), text)

    def group(body: str) -> str:
        return body if len(body) <= 1 or re.fullmatch(r"[\w√]+", body) and len(body) <= 2 else f"({body})"

    def superscript(m: re.Match) -> str:
        body = m[1] if m[1] is not None else m[2]
        if all(c in "0123456789+-=()nTᵀ" for c in body):
            return body.translate(SUPERSCRIPTS)
        return "^" + group(body)

    text = re.sub(rf"\^(?:{BRACED}|(.))", superscript, text)
    text = re.sub(rf"_{BRACED}", lambda m: "_" + group(m[1]), text)
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def inline_math_to_text(html: str) -> str:
    """Replace every \\( ... \\) in `html` with its plain-text reading."""
    return INLINE.sub(lambda m: tex_to_text(m[1]), html)


def drop_display_math(html: str) -> str:
    return DISPLAY.sub(" ", html)


CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.S)


def _plain_titles(items) -> None:
    for item in items:
        item.title = inline_math_to_text(item.title)
        _plain_titles(item.children)


def on_page_content(html: str, page, config, files) -> str:
    _plain_titles(page.toc.items)
    return html


def search_text(text: str) -> str:
    """A search entry's text: no code blocks, no display math, inline math as Unicode."""
    text = CODE_BLOCK.sub(" ", text)
    return re.sub(r"\s{2,}", " ", inline_math_to_text(drop_display_math(text))).strip()


def on_post_build(config) -> None:
    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data["docs"]:
        doc["title"] = inline_math_to_text(doc["title"])
        doc["text"] = search_text(doc["text"])
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
