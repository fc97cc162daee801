"""Check that every evidence quote of the catalog stands verbatim in its seed file.

Usage: python scripts/check_evidence.py [SEEDS_DIR]   (default: ../shared/seeds)

Whitespace is ignored; the quote must start on the line it names (and may run over the
next few lines, where the PDF conversion split it). Exit 1 listing every miss.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

from schedulers import CatalogError, Evidence, External
from schedulers.data import DATA_DIR, load_catalog

SPAN = 6  # lines a quote may run over
_WS = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """The text without any whitespace."""
    return _WS.sub("", text)


def evidence_of_catalog() -> Iterator[tuple[str, str, Evidence | External]]:
    """(policy id, field, evidence) for every piece of evidence in the catalog."""
    for policy in load_catalog().policies:
        for i, window in enumerate(policy.windows):
            for ev in window.evidence:
                yield policy.id, f"windows[{i}]", ev
        if policy.validity:
            for ev in policy.validity.evidence:
                yield policy.id, "validity", ev
        if policy.superseded_by:
            for ev in policy.superseded_by.evidence:
                yield policy.id, "superseded_by", ev


def _starts_within(text: str, quote: str, limit: int) -> bool:
    at = text.find(quote)
    while at != -1:
        if at < max(limit, 1):
            return True
        at = text.find(quote, at + 1)
    return False


def misses(seeds: Path) -> list[str]:
    """A message for every quote not found where it says it stands."""
    cache: dict[str, list[str]] = {}
    out = []
    for pid, field, ev in evidence_of_catalog():
        if isinstance(ev, External):
            continue
        if ev.file not in cache:
            cache[ev.file] = (seeds / ev.file).read_text(encoding="utf-8").splitlines()
        lines = cache[ev.file]
        start = ev.line - 1
        window = squeeze("".join(lines[start : start + SPAN]))
        first = squeeze(lines[start]) if start < len(lines) else ""
        quote = squeeze(ev.quote)
        # The quote must begin on the named line; it may run on over the next few.
        ok = bool(quote) and _starts_within(window, quote, len(first))
        if not ok:
            out.append(f"{pid}: {field}: {ev.file}:{ev.line}: quote not found: {ev.quote!r}")
    return out


def main(argv: list[str]) -> int:
    """Run the check; return the exit code."""
    seeds = Path(argv[1]) if len(argv) > 1 else DATA_DIR.parent.parent / "shared" / "seeds"
    if not seeds.is_dir():
        print(f"{seeds}: no seeds folder; nothing checked", file=sys.stderr)
        return 2
    try:
        found = misses(seeds)
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("the catalog is invalid; run `huiqi catalog validate`", file=sys.stderr)
        return 1
    for line in found:
        print(line)
    kinds = [isinstance(ev, External) for _, _, ev in evidence_of_catalog()]
    total, external = kinds.count(False), kinds.count(True)
    print(
        f"{total - len(found)} of {total} quotes found; "
        f"{external} references to later documents (not in the seeds, not checked)",
        file=sys.stderr,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
