"""The Verified page (tools/verified_hook.py): every results file a page includes is in its table.

A results file is "included" when a page has a `--8<-- "results/..."` line. Each must have a
reader in READERS and rows in the built table; a reader must fail loudly, naming the file,
when its file stops saying what it expects.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from bs4 import BeautifulSoup

import yaml

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser  # noqa: F401 (fixtures)
from tests.site.test_reader import DESKTOP, PAGE_SCREENS, PHONE, open_page
from tools.pageblocks import ROOT
from tools.sitepages import SITE
from tools.verified_hook import (READERS, Row, cell, chapter_of, chapters, collect, common_environment, exception,
                                 group_id, included_results, page_markdown, table, unread)

INCLUDED = sorted(included_results())
# Verified and Corrections fold each chapter's table: closed, a phone scrolls through this many
# screens at most (unfolded they ran to about 53 and 44)
PHONE_SCREENS = 15
CORRECTIONS = re.findall(r'--8<-- "includes/corrections/([\w-]+)\.md"',
                         (ROOT / "docs" / "corrections.md").read_text(encoding="utf-8"))


def test_pages_include_results_files():
    assert "results/kv_cache.md" in INCLUDED  # the scan itself works


@pytest.mark.parametrize("source", INCLUDED)
def test_every_included_results_file_has_a_reader(source):
    assert source in READERS, (
        f"{source} is included by {', '.join(included_results()[source])} but missing from the "
        "Verified table: add a reader for it to READERS in tools/verified_hook.py")


def test_every_reader_reads_its_file_without_a_problem():
    rows, problems = collect()
    assert problems == []
    assert {r.source for r in rows} == set(READERS)
    for row in rows:
        assert row.measurement and row.value and row.date and row.page, row
        assert row.machine and row.python and row.torch, row
        assert (row.met is None) == (row.goal == ""), row


def test_a_results_file_in_a_new_format_is_reported_naming_it(tmp_path):
    shutil.copytree(ROOT / "results", tmp_path / "results")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("assets", "labs"))
    text = (tmp_path / "results" / "char_vs_bpe.md").read_text()
    (tmp_path / "results" / "char_vs_bpe.md").write_text(text.replace("characters |", "chars |", 1))
    parity = json.loads((tmp_path / "results" / "parity.json").read_text())
    del parity["checks"]
    (tmp_path / "results" / "parity.json").write_text(json.dumps(parity))
    (tmp_path / "docs" / "extra.md").write_text('--8<-- "results/new_benchmark.md"\n')
    _, problems = collect(tmp_path)
    assert any(p.startswith("results/char_vs_bpe.md: cannot find the characters row") for p in problems)
    assert any(p.startswith("results/parity.json: cannot read") for p in problems)
    assert any(m.startswith("results/new_benchmark.md is included by extra.md but has no reader")
               for m in unread(tmp_path))


def test_the_training_rows_compare_at_a_loss_both_runs_reach_and_ablate_muon():
    data = json.loads((ROOT / "results" / "train_shakespeare.json").read_text())
    ratios = data["ratios"]
    rows = READERS["results/train_shakespeare.md"](ROOT / "results" / "train_shakespeare.md",
                                                   "results/train_shakespeare.md")
    time = next(r for r in rows if r.measurement.startswith("Time from the first step"))
    assert f"validation loss {data['compare_target']}" in time.measurement
    assert time.value.startswith(f"{ratios['time_to_compare_target_vs_reference']:.2f}")
    assert time.met == (ratios["time_to_compare_target_vs_reference"] <= 0.5)
    speed = next(r for r in rows if r.measurement.startswith("Training throughput"))
    assert speed.met == (ratios["throughput_vs_reference"] >= 1.1)
    ablation = next(r for r in rows if "ablation of Muon" in r.measurement)
    assert ablation.value.startswith(f"{ratios['muon_time_vs_adamw_recipe']:.2f}")
    assert all("one run each" in r.value for r in rows) == (not data.get("pairs"))


def test_a_per_position_table_shows_its_totals_only_and_fails_without_them(tmp_path):
    rows = READERS["results/rnn_bottleneck_positions.md"](
        ROOT / "results" / "rnn_bottleneck_positions.md", "results/rnn_bottleneck_positions.md")
    assert [r.measurement.rsplit(": ", 1)[1] for r in rows] == ["all tokens", "whole string"]
    text = (ROOT / "results" / "rnn_bottleneck_positions.md").read_text()
    (tmp_path / "r.md").write_text(text.replace("**whole string**", "**string**"))
    with pytest.raises(ValueError, match="expected rows"):
        READERS["results/rnn_bottleneck_positions.md"](tmp_path / "r.md", "r.md")


def test_a_results_file_split_over_two_tables_gives_one_row_per_method(tmp_path):
    rows = READERS["results/finetune_cost.md"](ROOT / "results" / "finetune_cost.md", "results/finetune_cost.md")
    full = next(r for r in rows if r.measurement == "full fine-tuning")
    assert "Test accuracy: " in full.value and "Parts sum MiB: " in full.value  # both tables
    text = (ROOT / "results" / "finetune_cost.md").read_text()
    (tmp_path / "r.md").write_text(text.replace("| frozen encoder + head | 16.5", "| frozen + head | 16.5"))
    with pytest.raises(ValueError, match="do not list the same 'Method' rows"):
        READERS["results/finetune_cost.md"](tmp_path / "r.md", "r.md")


def test_table_reads_a_markdown_table_by_header():
    rows = table("intro\n\n| Model | Loss |\n|:---|---:|\n| **a** | 1.5 |\n| b | 2 |\n\nMachine: x", "r.md")
    assert rows == [{"Model": "a", "Loss": "1.5"}, {"Model": "b", "Loss": "2"}]


def test_the_page_states_the_environment_once_then_goals_then_chapters():
    def row(name, page, goal="", met=None, machine="box, 2 cores", date="2026-01-02"):
        return Row(name, "1.0", goal, met, "results/x.md", page, machine, "3.11", "2.0", "", date)

    rows = [row("b", "two/s.md"), row("a", "one.md", "≤ 2", True), row("c", "two.md", date="2026-01-05 (commit)"),
            row("d", "one/s.md", machine="not recorded"), row("e", "two.md", "> 0", False)]
    nav_ = [{"1. One": [{"Overview": "one.md"}, {"1.1 S": "one/s.md"}]},
            {"2. Two": [{"Overview": "two.md"}, {"2.1 S": "two/s.md"}]}]
    page = page_markdown(rows, {"one/s.md": "1.1 S", "two/s.md": "2.1 S"}, chapters(nav_))
    assert "hide:" not in page  # the site navigation stays
    assert re.findall(r"^## (.*)", page, re.M) == ["Stated goals", "1. One", "2. Two"]
    assert page.count("box, 2 cores") == 1 and "dated **2026-01-02**" in page
    # only the row of another day carries a date
    assert [line.split(" | ")[0] for line in page.splitlines() if "2026" in line and line.startswith("| ")] == ["| c"]
    goals = page.split("## Stated goals")[1].split("## 1. One")[0]
    assert goals.index("| a |") < goals.index("| e |") and "| b |" not in goals
    assert "dated 2026-01-05 (commit)" in page and "machine and versions not recorded" in page
    assert "[1. One](one.md)" in page and "[2.1 S](two/s.md)" in page
    # each chapter's rows without a goal are folded in a closed group that a link can open;
    # the goals stay open, outside every group
    groups = re.findall(r'^<details class="verified-group" id="([\w-]+)" markdown>\n<summary>([^<]*)</summary>'
                        r'(.*?)^</details>', page, re.M | re.S)
    assert [(i, s) for i, s, _ in groups] == [("rows-one", "1 measurement reported without a goal"),
                                               ("rows-two", "2 measurements reported without a goal")]
    assert "| d |" in groups[0][2] and "| b |" in groups[1][2] and "| c |" in groups[1][2]
    assert "<details" not in goals


def verified_article(page: str = "verified") -> BeautifulSoup:
    html = SITE / page / "index.html"
    if not html.exists():
        pytest.fail(f"site/{page}/ is not built: run `make build` (make test does it first)")
    return BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")


def table_rows(table) -> list[dict[str, str]]:
    header = [th.get_text(strip=True) for th in table.select("thead th")]
    return [dict(zip(header, (td.get_text(" ", strip=True) for td in tr.select("td"))))
            for tr in table.select("tbody tr")]


def nav() -> list:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text[text.index("\nnav:"):])["nav"]


@pytest.mark.site
def test_the_built_tables_have_every_included_results_file():
    tables = verified_article().select("article table")
    sources = {code.get_text(strip=True) for t in tables for code in t.select("tbody td:last-child code")}
    missing = sorted(set(INCLUDED) - sources)
    assert missing == [], f"results files included by pages but not in the Verified tables: {missing}"
    assert "results/parity.json" in sources
    rows, _ = collect()
    assert sum(len(t.select("tbody tr")) for t in tables) == len(rows)  # each row once


@pytest.mark.site
def test_the_environment_is_stated_once_and_only_exceptions_repeat_it():
    article = verified_article().select_one("article")
    rows, _ = collect()
    usual = common_environment(rows)
    text = article.get_text(" ", strip=True)
    assert text.count(usual.machine) == 1, "the machine is repeated"
    assert text.count(f"Python {usual.python}") == 1 and text.count(f"torch {usual.torch}") == 1
    notes = [e.get_text(" ", strip=True) for e in article.select(".verified-env")]
    assert sorted(notes) == sorted(exception(r, usual) for r in rows if exception(r, usual))
    for table in article.select("table"):
        header = [th.get_text(strip=True) for th in table.select("thead th")]
        assert not any("Machine" in h or h == "Date" for h in header), header


@pytest.mark.site
def test_goals_first_then_one_heading_per_chapter_in_order():
    article = verified_article().select_one("article")
    rows, _ = collect()
    with_rows = {chapter_of(r.page) for r in rows}
    expected = ["Stated goals"] + [title for entry, title in chapters(nav()) if entry in with_rows]
    assert [h.get_text(" ", strip=True).rstrip("¶").strip() for h in article.select("h2")] == expected
    first = article.select_one("h2").find_next("table")
    goals = table_rows(first)
    assert list(goals[0]) == ["Measurement", "Measured", "Goal", "Met", "Checked against", "Page and source"]
    assert len(goals) == sum(r.met is not None for r in rows)
    assert all(row["Met"] in {"yes", "no"} and row["Goal"] for row in goals)
    for table in article.select("table")[1:]:
        assert "Goal" not in [th.get_text(strip=True) for th in table.select("thead th")]


@pytest.mark.site
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_header_row_stays_in_view_and_the_navigation_is_there(browser, base_url, scheme):  # noqa: F811
    visit = open_page(browser, base_url + "verified/", DESKTOP, scheme)
    try:
        page = visit.page
        sidebar = page.locator(".md-sidebar--primary")
        assert sidebar.is_visible() and sidebar.bounding_box()["width"] > 150, "no site navigation"
        shown = sidebar.evaluate("""s => [...s.querySelectorAll("a")].filter(a => a.getClientRects().length
            && getComputedStyle(a).visibility !== "hidden").map(a => a.textContent.trim())""")
        for link in ("Home", "Interview drill", "Verified", "Stated goals", "9. Building a mini transformer"):
            assert link in shown, f"the navigation lacks {link!r}: {shown[:12]}"
        # the tables a reader sees: Chrome lays out a closed <details>' content when asked for its
        # size, so a folded table reports one
        tables = page.locator("article table")
        shown = [i for i in range(tables.count()) if tables.nth(i).evaluate("t => !t.closest('details:not([open])')")]
        assert 0 < len(shown) < tables.count(), "expected the goals open and the chapters' rows folded"
        table = tables.nth(max(shown, key=lambda i: tables.nth(i).bounding_box()["height"]))
        assert table.bounding_box()["height"] > 2 * DESKTOP["height"], "no table long enough to test on"
        table.scroll_into_view_if_needed()
        top = page.evaluate("t => t.getBoundingClientRect().top + scrollY", table.element_handle())
        page.evaluate("y => window.scrollTo(0, y)", top + DESKTOP["height"])
        page.wait_for_timeout(200)
        header = page.locator(".md-header").bounding_box()
        for th in table.locator("thead th").all():
            box = th.bounding_box()
            assert box["y"] >= header["y"] + header["height"] - 1 and box["y"] + box["height"] <= DESKTOP["height"], (
                f"the header cell {th.inner_text()!r} scrolled away: {box}")
        assert table.bounding_box()["y"] < 0  # the table's own top is above the screen
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"verified-scrolled-{scheme}.png")
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()


@pytest.mark.site
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_verified_page(browser, base_url, scheme):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, base_url + "verified/", scheme=scheme)
    try:
        page = visit.page
        page.wait_for_timeout(300)
        page.screenshot(path=SCREENSHOTS / f"verified-{scheme}.png", full_page=False)
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()
    assert (SCREENSHOTS / f"verified-{scheme}.png").stat().st_size > 10_000


@pytest.mark.site
def test_each_chapters_rows_without_a_goal_are_folded_and_the_goals_are_open():
    article = verified_article().select_one("article")
    rows, _ = collect()
    goals = article.select_one("h2").find_next("table")
    assert goals.find_parent("details") is None, "the table of stated goals is folded"
    groups = article.select("details.verified-group")
    folded = {chapter_of(r.page) for r in rows if r.met is None}
    assert [g["id"] for g in groups] == [group_id(e) for e, _ in chapters(nav()) if e in folded]
    for group in groups:
        assert not group.has_attr("open") and group.find_previous("h2").find_next("details") is group
        assert len(group.select("table")) == 1
    assert sum(len(g.select("tbody tr")) for g in groups) == sum(r.met is None for r in rows)


@pytest.mark.site
def test_each_chapters_corrections_are_folded_under_its_heading():
    article = verified_article("corrections").select_one("article")
    headings, groups = article.select("h2"), article.select("details.corrections-group")
    assert len(CORRECTIONS) == len(headings) == len(groups) > 5
    for name, heading, group in zip(CORRECTIONS, headings, groups):
        assert heading.find_next("details") is group and group["id"] == f"corrections-{name}"
        assert not group.has_attr("open")
        assert [th.get_text(strip=True) for th in group.select("thead th")][:2] == ["Date", "Where"]


@pytest.mark.site
def test_search_finds_the_rows_inside_the_folded_groups():
    index = json.loads((SITE / "search" / "search_index.json").read_text(encoding="utf-8"))

    def indexed(page: str) -> str:
        return BeautifulSoup(" ".join(d["text"] for d in index["docs"] if d["location"].startswith(page)),
                             "html.parser").get_text(" ")

    verified = indexed("verified/")
    rows, _ = collect()
    assert all(cell_text(r.value) in verified for r in rows if r.met is None and "$" not in r.value)
    corrections = indexed("corrections/")
    for name in CORRECTIONS:
        first = (ROOT / "includes" / "corrections" / f"{name}.md").read_text(encoding="utf-8").splitlines()[2]
        said = first.strip("|").split("|")[2].strip()
        assert cell_text(said) in corrections, f"{name}: {said!r} is not in the search index"


def cell_text(markdown: str) -> str:
    """What a table cell's Markdown reads as: no code ticks, emphasis or link targets."""
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", markdown)
    return " ".join(re.sub(r"[`*]", "", text).split())


@pytest.mark.site
@pytest.mark.parametrize("path, group", [("verified/", "verified-group"), ("corrections/", "corrections-group")])
def test_on_a_phone_the_folded_page_is_short_and_a_link_opens_its_group(browser, base_url, path, group):  # noqa: F811
    visit = open_page(browser, base_url + path, PHONE)
    try:
        screens = visit.page.evaluate(PAGE_SCREENS)
        assert screens <= PHONE_SCREENS, f"/{path} is {screens:.1f} screens tall on a phone with its groups folded"
        ids = visit.page.eval_on_selector_all(f"details.{group}", "ds => ds.filter(d => !d.open).map(d => d.id)")
        assert len(ids) > 5
        visit.page.evaluate("id => { location.hash = id }", ids[-1])  # a link within the page
        visit.page.wait_for_function("id => document.getElementById(id).open", arg=ids[-1])
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()
    visit = open_page(browser, f"{base_url}{path}#{ids[2]}", PHONE)  # a link from another page
    try:
        visit.page.wait_for_function("id => document.getElementById(id).open", arg=ids[2])
        box = visit.page.locator(f"#{ids[2]} table").bounding_box()
        assert box["height"] > 100 and box["y"] < PHONE["height"], f"the opened group is not in view: {box}"
    finally:
        visit.close()


def test_a_cell_keeps_an_exponent_with_its_number():
    """1.1e-16 must not wrap as "1.1e-" / "16": the exponent's sign becomes a minus, which a line
    is not broken after; other hyphens, and pipes, are as before."""
    assert cell("1.1e-16, 2.1e-06 and a-b | c") == "1.1e\u221216, 2.1e\u221206 and a-b \\| c"
