"""The Markdown report: every value from the data is inert text; failed expectations read as sentences."""

from __future__ import annotations

from markdown_it import MarkdownIt
from report_results import FAILED_EXPECTATION, HOSTILE, result

from parity.report import markdown


def _tokens(text: str) -> list:  # type: ignore[type-arg]
    return MarkdownIt("commonmark").enable("table").parse(text)


def _inline_text(token: object) -> str:
    children = getattr(token, "children", None) or []
    return "".join(child.content for child in children if child.type in ("text", "code_inline"))


def test_a_hostile_key_injects_no_heading_html_or_table_cell_into_the_markdown() -> None:
    tokens = _tokens(markdown(result()))
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert all("heading" not in h for h in headings), headings
    html = [t for t in tokens if t.type in ("html_block", "html_inline")]
    html += [c for t in tokens for c in (t.children or []) if c.type == "html_inline"]
    assert html == []
    # the worst-cells table keeps its 7 columns in every row, and the key cell shows the key as text
    rows = []
    for start, token in enumerate(tokens):
        if token.type == "tr_open":
            end = next(j for j in range(start, len(tokens)) if tokens[j].type == "tr_close")
            rows.append([t for t in tokens[start:end] if t.type == "inline"])
    worst = [cells for cells in rows if _inline_text(cells[0]).startswith("geohash6=")]
    assert len(worst) == 3
    for cells in worst:
        assert len(cells) == 7
        assert _inline_text(cells[0]) == "geohash6=" + HOSTILE.replace("\n", "\\n")


def test_the_description_shows_as_one_paragraph_of_text() -> None:
    tokens = _tokens(markdown(result()))
    paragraphs = [_inline_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "paragraph_open"]
    assert HOSTILE.replace("\n", "\\n") in paragraphs


def test_failed_expectations_are_sentences_naming_suite_column_expectation_count_and_examples() -> None:
    text = markdown(result())
    section = text.split("## Failed data expectations")[1].split("##")[0]
    assert "{" not in section and '"suite"' not in section  # not a JSON dump
    line = next(line for line in section.splitlines() if line.startswith("- "))
    for words in ("event log (events suite)", "column event_time", "expected event_time is never null",
                  "3 of 200 rows", "e.g. None, None"):
        assert words in line, (words, line)
    assert FAILED_EXPECTATION["unexpected_count"] == 3
