"""The Verified page (tools/verified_hook.py): every results file a page includes is in its table.

A results file is "included" when a page has a `--8<-- "results/..."` line. Each must have a
reader in READERS and rows in the built table; a reader must fail loudly, naming the file,
when its file stops saying what it expects.
"""

from __future__ import annotations

import json
import shutil

import pytest
from bs4 import BeautifulSoup

from tests.site.test_browser import SCREENSHOTS, Visit, base_url, browser  # noqa: F401 (fixtures)
from tools.pageblocks import ROOT
from tools.sitepages import SITE
from tools.verified_hook import READERS, collect, included_results, table, unread

INCLUDED = sorted(included_results())


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


def test_the_training_time_row_says_what_it_divides_by():
    data = json.loads((ROOT / "results" / "train_shakespeare.json").read_text())
    ref, ratio = data["reference"], data["ratios"]["time_to_target_vs_reference_wall"]
    start = next(h["t"] for h in ref["history"] if h["step"] == 0)
    rows = READERS["results/train_shakespeare.md"](ROOT / "results" / "train_shakespeare.md",
                                                   "results/train_shakespeare.md")
    row = next(r for r in rows if r.measurement.startswith("Wall time"))
    # nanoGPT's run never reached the target: the row names its whole run and its last loss.
    assert f"whole {ref['steps']:,}-step run, which ends at {ref['val_loss']:.3f}" in row.measurement
    fair = ratio * ref["wall_s"] / (ref["wall_s"] - start)
    assert row.value.startswith(f"{ratio:.2f}; {fair:.2f} without") and fair > ratio
    assert row.met == (fair <= 0.55)
    assert all("one run each" in r.value for r in rows) == (not data.get("pairs"))


def test_a_per_position_table_shows_its_totals_only_and_fails_without_them(tmp_path):
    rows = READERS["results/rnn_bottleneck_positions.md"](
        ROOT / "results" / "rnn_bottleneck_positions.md", "results/rnn_bottleneck_positions.md")
    assert [r.measurement.rsplit(": ", 1)[1] for r in rows] == ["all tokens", "whole string"]
    text = (ROOT / "results" / "rnn_bottleneck_positions.md").read_text()
    (tmp_path / "r.md").write_text(text.replace("**whole string**", "**string**"))
    with pytest.raises(ValueError, match="expected rows"):
        READERS["results/rnn_bottleneck_positions.md"](tmp_path / "r.md", "r.md")


def test_table_reads_a_markdown_table_by_header():
    rows = table("intro\n\n| Model | Loss |\n|:---|---:|\n| **a** | 1.5 |\n| b | 2 |\n\nMachine: x", "r.md")
    assert rows == [{"Model": "a", "Loss": "1.5"}, {"Model": "b", "Loss": "2"}]


@pytest.mark.site
def test_the_built_table_has_every_included_results_file():
    html = SITE / "verified" / "index.html"
    if not html.exists():
        pytest.fail("site/verified/ is not built: run `make build` (make test does it first)")
    table = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").select_one("article table")
    header = [th.get_text(strip=True) for th in table.select("thead th")]
    sources = {tr.select("td")[header.index("Page and source")].select("code")[-1].get_text(strip=True)
               for tr in table.select("tbody tr")}
    missing = sorted(set(INCLUDED) - sources)
    assert missing == [], f"results files included by pages but not in the Verified table: {missing}"
    assert "results/parity.json" in sources
    for tr in table.select("tbody tr"):
        cells = dict(zip(header, (td.get_text(" ", strip=True) for td in tr.select("td"))))
        assert cells["Met"] in {"yes", "no", "—"} and cells["Date"][:2] == "20", cells


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
