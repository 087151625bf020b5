# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every table in the repository's Markdown renders as one table, every row with the header's column count.

A blank line inside a table, or a paragraph glued under one, still reads as a table in an editor; rendered
(GitHub and Galaxy use a CommonMark renderer with GFM tables, markdown-it-py here) the rows after the blank line
become a paragraph of pipes, or the paragraph becomes a row. Each block of lines starting with ``|`` (outside code)
must be exactly the lines of one rendered table.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[3]


def markdown_files() -> list:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(path for path in listed if (REPO / path).is_file())


def pipe_blocks(text: str, code_lines: set) -> list:
    """(first, end) line ranges of consecutive lines that start with '|', outside code blocks."""
    blocks, start = [], None
    lines = text.splitlines()
    for number, line in enumerate([*lines, ""]):
        is_row = line.lstrip().startswith("|") and number not in code_lines
        if is_row and start is None:
            start = number
        elif not is_row and start is not None:
            blocks.append((start, number))
            start = None
    return blocks


def rendered_tables(tokens: list) -> list:
    """(first line, end line, cells per row) of each rendered table."""
    tables, current = [], None
    for token in tokens:
        if token.type == "table_open":
            current = {"map": tuple(token.map), "rows": []}
        elif token.type == "tr_open" and current is not None:
            current["rows"].append(0)
        elif token.type in ("th_open", "td_open") and current is not None:
            current["rows"][-1] += 1
        elif token.type == "table_close":
            tables.append((*current["map"], current["rows"]))
            current = None
    return tables


def source_cells(line: str) -> int:
    """Cells of one written row: GFM splits on every '|' not escaped, in code spans too."""
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def table_problems(text: str) -> list:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    code_lines = {
        number
        for token in tokens
        if token.type in ("fence", "code_block") and token.map
        for number in range(token.map[0], token.map[1])
    }
    tables = rendered_tables(tokens)
    problems = []
    for first, end in pipe_blocks(text, code_lines):
        matching = [table for table in tables if table[0] == first]
        if not matching:
            problems.append(f"line {first + 1}: these {end - first} lines starting with '|' do not render as a table")
            continue
        _first, table_end, rows = matching[0]
        if table_end != end:
            problems.append(
                f"line {first + 1}: the table renders lines {first + 1}-{table_end}, but its rows are {first + 1}-{end}"
            )
        # The renderer pads or drops cells to the header's count, so the source rows are counted too.
        written = [source_cells(line) for line in text.splitlines()[first:end]]
        if len(set(rows)) != 1 or len(set(written)) != 1:
            problems.append(f"line {first + 1}: rows with different column counts {written}")
    return problems


@pytest.mark.parametrize("path", markdown_files())
def test_every_table_renders_as_one_table(path):
    assert table_problems((REPO / path).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("| a | b |\n|---|---|\n| 1 | 2 |\n", ""),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n", "do not render as a table"),
        ("| a | b |\n|---|---|\n| 1 | 2 |\nAll rows\n", "the table renders lines 1-4"),
        ("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "different column counts"),
        ("| a | b |\n|---|---|\n| `x \\| y` | 2 |\n", ""),
        ("```\n| not | a table |\n```\n", ""),
    ],
)
def test_the_check_catches_a_broken_table(text, expected):
    problems = table_problems(text)
    if expected:
        assert any(expected in problem for problem in problems), problems
    else:
        assert problems == []
