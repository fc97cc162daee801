"""The vocabularies are complete and every name the catalog uses is in them."""

from __future__ import annotations

from schedulers.data import load_catalog
from subscriptions.data import load_vocab

VOCAB = load_vocab()
CATALOG = load_catalog()


def test_gbt_4754_2017_has_20_sections_and_97_divisions() -> None:
    """All sections A-T and divisions 01-97 are there."""
    assert "".join(VOCAB.industries.sections) == "ABCDEFGHIJKLMNOPQRST"
    assert list(VOCAB.industries.divisions) == [f"{n:02d}" for n in range(1, 98)]


def test_divisions_belong_to_their_sections() -> None:
    """Division 39 is in manufacturing, 65 in information services."""
    assert VOCAB.industries.divisions["39"].full_code == "C39"
    assert VOCAB.industries.divisions["65"].name == "软件和信息技术服务业"


def test_every_name_in_catalog_conditions_is_known() -> None:
    """Qualifications, chains, sectors and places in conditions all resolve in data/vocab."""
    unknown = []
    for policy in CATALOG.policies:
        for cond in policy.eligibility.conditions:
            if cond.kind == "qualification":
                names = cond.all_of + cond.any_of
                unknown += [n for n in names if VOCAB.find("qualifications", n) is None]
            elif cond.kind in ("sector", "chain"):
                unknown += [n for n in cond.any_of if VOCAB.find("industry_groups", n) is None]
            elif cond.kind == "location":
                unknown += [
                    n for n in cond.values if n != "鄂州市" and VOCAB.find("districts", n) is None
                ]
    assert unknown == []


def test_every_chain_and_sector_division_exists() -> None:
    """Chains and sectors map only to real divisions."""
    used = {d for t in VOCAB.chains + VOCAB.sectors for d in t.divisions}
    assert used - set(VOCAB.industries.divisions) == set()


def test_aliases_are_not_shared() -> None:
    """No alias names two different qualifications."""
    seen: dict[str, str] = {}
    clashes = []
    for term in VOCAB.qualifications:
        for name in (term.name, *term.aliases):
            if name in seen and seen[name] != term.name:
                clashes.append(name)
            seen[name] = term.name
    assert clashes == []
