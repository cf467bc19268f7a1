"""MkDocs hook: Mermaid diagrams through the mermaid2 plugin, drawn legibly, without a jump.

The mermaid2 plugin (mkdocs.yml) turns each ```mermaid fence into `<pre class="mermaid"><code>`
(superfences' custom fence `mermaid2.fence_mermaid_custom`) and, on a page that has one, adds a
script tag for the vendored Mermaid and its configuration. This hook extends it:

- Markdown: every diagram gets an init directive that draws it at its natural size (by default
  Mermaid shrinks a wide diagram to the column, labels at 4-7 px), and its source is escaped
  (the plugin's fence writes it into the HTML as is, where `<br/>` would become an element).
- HTML, after the plugin: the Mermaid tag loads asynchronously, behind a stand-in
  (docs/assets/js/mermaid-loader.js) that Material talks to meanwhile, so that text and math are
  painted first; each diagram sits in a frame whose size is estimated here from its source, so
  that nothing moves when the drawing arrives, and the drawing is fitted into it
  (docs/assets/css/diagrams.css).
"""

from __future__ import annotations

import html
import json
import posixpath
import re

from mkdocs.exceptions import PluginError

NATURAL_SIZE = "%%{init: " + json.dumps({kind: {"useMaxWidth": False} for kind in (
    "flowchart", "sequence", "timeline", "class", "state", "er", "gantt", "journey")}) + "}%%"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})mermaid[ \t]*\n", re.M)
LOADER = "assets/js/mermaid-loader.js"
PLUGIN_TAG = re.compile(r'<script src="(?P<src>[^"]*mermaid\.min\.js)"></script>')
DIAGRAM = re.compile(r'<pre class="mermaid"><code>(?P<source>.*?)</code></pre>', re.S)


def natural_size(markdown: str) -> str:
    """Insert the directive after each ```mermaid fence that does not set its own init."""
    def insert(match: re.Match) -> str:
        following = markdown[match.end():match.end() + 200].lstrip()
        if following.startswith("%%{init"):
            return match.group(0)
        return f"{match.group(0)}{match['indent']}{NATURAL_SIZE}\n"

    return FENCE.sub(insert, markdown)


def escape_sources(markdown: str) -> str:
    """HTML-escape the body of every ```mermaid fence, which the plugin's fence writes verbatim."""
    out, position = [], 0
    for match in FENCE.finditer(markdown):
        close = re.compile(rf"^{re.escape(match['indent'])}{re.escape(match['fence'])}[ \t]*$", re.M)
        end = close.search(markdown, match.end())
        if end is None:
            continue
        out += [markdown[position:match.end()], html.escape(markdown[match.end():end.start()], quote=False)]
        position = end.start()
    return "".join(out) + markdown[position:]


# --- A diagram's natural size, estimated from its source -----------------------------------------
# Mermaid's defaults: 16 px text (about 8.6 px a character in the site's sans-serif), wrapped at
# 200 px, lines 24 px apart; 50 px between nodes, about 60 between ranks; 8 px margins. Calibrated
# against the drawn diagrams of this site (within about 15%); a drawing larger than its frame is
# shrunk to fit it, one smaller is centred in it.
CHAR, WRAP, LINE = 8.6, 200, 24
PAD_X, PAD_Y = 60, 30
NODE_GAP, RANK_GAP, MARGIN, SKIP = 50, 62, 8, 90
CLUSTER_X, CLUSTER_Y = 52, 82  # a subgraph's box around its nodes: padding, and its title's line
SUBGRAPH = re.compile(r'\s*subgraph\s+(?P<id>[A-Za-z_][\w-]*)\s*(?:\[\s*"?(?P<title>[^"\]]*)"?\s*\])?')
NODE = re.compile(r"""(?P<id>[A-Za-z_][\w-]*)\s*(?P<open>\(\(|\(\[|\[\[|\[\(|\{\{|\[|\(|\{|>)\s*
                      (?:"(?P<quoted>[^"]*)"|(?P<bare>[^\]\)\}"]*))""", re.X)


def label_box(text: str) -> tuple[float, float]:
    """(width, height) of a node: each line of its label wrapped at WRAP pixels, plus padding."""
    widths = [len(line.strip()) * CHAR for line in re.split(r"<br\s*/?>", text)]
    lines = sum(max(1, -(-width // WRAP)) for width in widths)
    return min(max(widths), WRAP) + PAD_X, lines * LINE + PAD_Y


def collapse_subgraphs(lines: list[str]) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """The lines outside the top-level subgraphs that set their own `direction`, and the size of
    each such subgraph: Mermaid draws it as a box of its own (when only the subgraph itself is
    linked), laid out as one node of the whole. Other subgraphs' nodes are ranked with the rest."""
    kept: list[str] = []
    boxes: dict[str, tuple[float, float]] = {}
    index = 0
    while index < len(lines):
        start = SUBGRAPH.match(lines[index])
        if start is None:
            kept.append(lines[index])
            index += 1
            continue
        depth, end = 1, index + 1
        while end < len(lines) and depth:
            depth += 1 if SUBGRAPH.match(lines[end]) else -1 if re.match(r"\s*end\s*$", lines[end]) else 0
            end += 1
        body = lines[index + 1:end - 1]
        direction = next((line.split()[1] for line in body if re.match(r"\s*direction\s+\w+", line)), None)
        if direction is None:
            kept += body
        else:
            width, height = flowchart_size(body, across=direction in {"LR", "RL"})
            title = len(start["title"] or start["id"]) * CHAR
            boxes[start["id"]] = max(width, title) + CLUSTER_X, height + CLUSTER_Y
        index = end
    return kept, boxes


def flowchart_size(lines: list[str], across: bool) -> tuple[float, float]:
    """(width, height) of a flowchart: ranks by longest path, nodes side by side in a rank."""
    lines, boxes = collapse_subgraphs(lines)
    edges: list[tuple[str, str]] = []
    edge_labels: list[str] = []
    for line in lines:
        if re.match(r"\s*(classDef|class|style|linkStyle|click|subgraph|end\b|direction)", line):
            continue
        edge_labels += re.findall(r'\|"?([^|"]+)"?\||-[-.] "([^"]*)" [-.]', line)
        chain = []
        for part in re.split(r"\s*(?:-->|---|-\.->|-\.-|==>|===|<-->|--[ox]|-\.\s*\"[^\"]*\"\s*\.->|--\s*\"[^\"]*\"\s*-->)\s*(?:\|[^|]*\|)?\s*", line.strip()):
            node = NODE.match(part) or re.match(r"(?P<id>[A-Za-z_][\w-]*)", part)
            if not node:
                continue
            label = node.groupdict().get("quoted") or node.groupdict().get("bare") or node["id"]
            if node["id"] not in boxes or node.groupdict().get("open"):
                boxes[node["id"]] = label_box(label)
            chain.append(node["id"])
        edges += zip(chain, chain[1:])
    if not boxes:
        return 600, 300
    rank = {name: 0 for name in boxes}
    order = list(boxes)
    forward = [(a, b) for a, b in edges if order.index(a) < order.index(b)]  # back edges: loops
    for _ in range(len(boxes)):
        for a, b in forward:
            rank[b] = max(rank[b], rank[a] + 1)
    ranks: dict[int, list[str]] = {}
    for name, r in rank.items():
        ranks.setdefault(r, []).append(name)
    span = 0 if across else 1  # which side of a box lies along the rank direction
    across_rank = {r: sum(boxes[n][1 - span] for n in names) + NODE_GAP * (len(names) - 1)
                   for r, names in ranks.items()}
    for a, b in forward:  # an edge that skips ranks passes beside the nodes between
        for r in range(rank[a] + 1, rank[b]):
            across_rank[r] += SKIP
    along_rank = [max(boxes[n][span] for n in names) for names in ranks.values()]
    breadth = max(across_rank.values())
    # An edge's label sits beside the nodes it passes: the widest widens the drawing.
    breadth += max((min(len("".join(label)) * CHAR, WRAP) for label in edge_labels), default=0)
    depth = sum(along_rank) + RANK_GAP * (len(ranks) - 1) + len(edge_labels) * LINE
    width, height = (depth, breadth) if across else (breadth, depth)
    return width + 2 * MARGIN, height + 2 * MARGIN


def timeline_size(lines: list[str]) -> tuple[float, float]:
    """(width, height) of a timeline: a column a period, its events stacked, text wrapped."""
    periods: list[int] = []  # characters of event text in each period
    for line in lines:
        if line.strip().startswith(("title", "section")):
            continue
        head, _, events = line.partition(":")
        if head.strip():
            periods.append(0)
        if periods:
            periods[-1] += len(events)
    return max(200 * len(periods) + 390, 900), 560 + 1.9 * max(periods, default=0)


def estimate_size(source: str) -> tuple[int, int]:
    """Natural (width, height) in CSS pixels of the diagram Mermaid draws from `source`."""
    lines = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("%%")]
    kind = lines[0].split() if lines else ["?"]
    if kind[0] in {"flowchart", "graph"}:
        direction = kind[1] if len(kind) > 1 else "TB"
        width, height = flowchart_size(lines[1:], across=direction in {"LR", "RL"})
    elif kind[0] == "timeline":
        width, height = timeline_size(lines[1:])
    else:
        width, height = 700, 60 * len(lines) + 100
    return round(width), round(height)


def frame(match: re.Match) -> str:
    width, height = estimate_size(html.unescape(match["source"]))
    return (f'<div class="diagram"><div class="diagram__frame" '
            f'style="--diagram-width: {width}; --diagram-height: {height}">{match.group(0)}</div></div>')


def on_page_markdown(markdown: str, page, config, files) -> str:
    return escape_sources(natural_size(markdown))


def on_post_page(output: str, page, config) -> str:
    diagrams = len(DIAGRAM.findall(output))
    if diagrams == 0:
        return output
    tags = list(PLUGIN_TAG.finditer(output))
    if len(tags) != 1:
        raise PluginError(f"{page.file.src_uri}: {diagrams} diagrams but {len(tags)} Mermaid script tags "
                          "from the mermaid2 plugin (is it configured in mkdocs.yml?)")
    loader = posixpath.relpath(LOADER, posixpath.dirname(page.url) or ".")
    tag = tags[0]
    output = (output[:tag.start()] + f'<script src="{loader}"></script>'
              f'<script src="{tag["src"]}" async></script>' + output[tag.end():])
    return DIAGRAM.sub(frame, output)
