"""Every decision for the six hand-made profiles of the acceptance list, pinned.

`pinned_decisions.yaml` holds, per profile, the live policies it may apply for (eligible,
possible), those it already holds and those it is ruled out of with the kinds of the conditions
that rule it out; each was checked by hand against the seed text. A catalog or matcher change
that moves one of them fails here and names it, so that the change is checked by hand too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot._views import reason_text
from schedulers.data import load_catalog
from subscriptions import Context, Match, match_all, parse_profile
from subscriptions.data import load_size_standard, load_vocab

HERE = Path(__file__).parent
PROFILES = HERE.parent / "fixtures" / "profiles"
PINNED: dict[str, Any] = yaml.safe_load((HERE / "pinned_decisions.yaml").read_text("utf-8"))
CATALOG = load_catalog()
VOCAB = load_vocab()
STANDARD = load_size_standard()
ON = dt.date(2026, 12, 4)


def decisions(name: str) -> tuple[Match, ...]:
    """All matches of one fixture profile on the pinned day."""
    raw = json.loads((PROFILES / f"{name}.json").read_text(encoding="utf-8"))
    return match_all(
        Context.of(parse_profile(raw, VOCAB), VOCAB, STANDARD), CATALOG.policies, on=ON
    )


def unmet(found: Match) -> list[str]:
    """Kinds of the conditions that rule it out, as the pin lists them."""
    return sorted({r.kind for r in found.reasons if r.outcome == "unmet"})


@pytest.mark.parametrize("name", sorted(PINNED))
def test_every_decision_is_the_pinned_one(name: str) -> None:
    """Eligible, possible and held exactly as pinned; each ruled-out live policy for the
    pinned conditions; superseded and expired policies ruled out for everyone."""
    pin = PINNED[name]
    found = decisions(name)
    by: dict[str, Any] = {"eligible": [], "possible": [], "held": [], "ineligible": {}}
    gone = 0
    for m in found:
        kinds = unmet(m)
        if m.decision == "ineligible" and {"expired", "superseded"} & set(kinds):
            gone += 1
        elif m.decision == "ineligible":
            by["ineligible"][m.policy.id] = kinds
        else:
            by[m.decision.value].append(m.policy.id)
    for decision in ("eligible", "possible", "held"):
        assert sorted(by[decision]) == sorted(pin[decision] or []), decision
    assert by["ineligible"] == pin["ineligible"]
    assert gone == pin["gone"]
    assert len(found) == len(CATALOG.policies)


def test_a_micro_retailer_hears_of_few_policies() -> None:
    """A 6-person convenience store with no designations: none of the manufacturing,
    agricultural or designation policies, only measures for every SME and for services; each
    one it may apply for but not surely says what is left to check, as questions."""
    pin = PINNED["micro-retailer"]
    told = set(pin["eligible"]) | set(pin["possible"])
    found = {m.policy.id: m for m in decisions("micro-retailer")}
    assert all(found[i].questions for i in pin["possible"])
    assert all(q.question or q.needs for i in pin["possible"] for q in found[i].questions)
    manufacturing = {
        "provincial-intelligent-manufacturing-pilot-demo",
        "provincial-manufacturing-innovation-center",
        "municipal-manufacturing-high-quality-development-fund",
        "provincial-5g-fully-connected-factory",
        "provincial-specialized-sophisticated-sme",
        "agri-product-primary-processing-subsidy",
    }
    assert not told & manufacturing
    assert "hubei-service-utility-price-parity" in pin["eligible"]


def test_a_holder_is_shown_the_next_rung() -> None:
    """The high-tech manufacturer holds 省级专精特新: held, not invited, and pointed to 小巨人."""
    found = {m.policy.id: m for m in decisions("hightech-electronics")}
    held = found["provincial-specialized-sophisticated-sme"]
    assert held.decision == "held"
    assert held.policy.next_rung == "national-little-giant"
    said = " ".join(reason_text(r) for r in held.reasons)
    assert "省级专精特新中小企业" in said
    assert found["national-little-giant"].decision == "possible"


def test_every_ruled_out_scope_quotes_the_policy() -> None:
    """Every condition that rules a pinned profile out of a live policy on its scope carries
    the policy's words."""
    for name in PINNED:
        for m in decisions(name):
            for r in m.reasons:
                if r.outcome == "unmet" and r.kind not in ("expired", "superseded"):
                    assert r.quote, (name, m.policy.id, r.kind)
