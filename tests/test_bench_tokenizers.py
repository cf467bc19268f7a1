"""The tokenizer benchmark's report fits the code column of the page that includes it: long lines
are cut after a clause, and nothing is lost or reordered in the cut."""

from benchmarks.bench_tokenizers import WIDTH, wrapped
from tools.pageblocks import ROOT

REPORT = ROOT / "results" / "tokenizers.txt"


def rejoined(parts: list[str]) -> str:
    return parts[0] + "".join(" " + part.lstrip() for part in parts[1:])


def test_a_long_line_is_cut_after_a_semicolon_first_and_loses_nothing():
    line = "ours 2.16 MB/s against tokenizers, on " + "x" * 40 + " chunks: 1.73 MB/s; same ids: True"
    parts = wrapped(line)
    assert parts == [line[:line.index("; ") + 1], "    same ids: True"]
    assert rejoined(parts) == line


def test_a_clause_longer_than_the_width_is_cut_after_a_comma_and_indented_below_its_line():
    line = "  pairs, " + ", ".join(f"run {k} {k / 7:.3f} s" for k in range(12))
    parts = wrapped(line)
    assert len(parts) > 1 and all(len(part) <= WIDTH for part in parts)
    assert all(part.startswith(" " * 6) and part[6] != " " for part in parts[1:])
    assert rejoined(parts) == line


def test_a_short_line_and_an_uncuttable_one_stay_whole():
    assert wrapped("goal: met") == ["goal: met"]
    assert wrapped("x" * (WIDTH + 5)) == ["x" * (WIDTH + 5)]


def test_the_committed_report_fits_the_width():
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if len(line) > WIDTH] == []
