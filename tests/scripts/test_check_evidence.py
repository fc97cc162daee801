"""The evidence check finds quotes where they stand and flags those that do not."""

from __future__ import annotations

from pathlib import Path

from scripts.check_evidence import _starts_within, squeeze


def test_quote_found_across_a_line_break_and_spaces() -> None:
    """Whitespace and a line break inside the quote do not matter."""
    lines = ["申报时间为12月 1日起，", "申报截止时间为12月25日"]
    window = squeeze("".join(lines))
    assert _starts_within(window, squeeze("12月1日起，申报截止时间"), len(squeeze(lines[0])))


def test_quote_starting_on_a_later_line_is_a_miss() -> None:
    """A quote that only starts on the next line is not at the named line."""
    lines = ["第一行内容", "申报截止时间为12月25日"]
    window = squeeze("".join(lines))
    assert not _starts_within(window, "申报截止时间", len(squeeze(lines[0])))


def test_changed_character_is_a_miss() -> None:
    """A quote with one character changed is not found."""
    assert not _starts_within("申报截止时间为12月25日", "申报截至时间", 6)


def test_script_is_importable_from_repo_root() -> None:
    """The script lives where the Makefile calls it."""
    assert (Path(__file__).parent.parent.parent / "scripts" / "check_evidence.py").is_file()
