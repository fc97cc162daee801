"""What a round's close means for the enterprise, and the terms it was told with: kept from
the catalog, versioned with the round; the deadline carried to the bureau's published round
as the enterprise's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot._service import World, add_round, round_book, sync_rounds
from schedulers import SHANGHAI, Basis, Deadline, DeadlineOf
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store, StoredRound

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
TALENT = "talent-living-allowance-masters-doctors"
DISTRICT = "所在区（开发区）经发局、街办经贸中心"


def put(
    store: Store, *, deadline: Deadline | None = None, terms: dict[str, Any] | None = None
) -> tuple[StoredRound | None, StoredRound]:
    """Record the same round of a policy `p` again, with this deadline and these terms."""
    return store.rounds.put_round(
        key="p#0@2026",
        policy_id="p",
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 15),
        basis=Basis.STATED,
        label=None,
        source="catalog",
        now=NOW,
        deadline=deadline,
        terms=terms,
    )


def test_the_catalog_says_where_the_enterprise_hands_in(store: Store) -> None:
    """The talent subsidy's text sets the enterprise's deadline (to its district's bureau)
    before the city's review: its rounds say so, in the store and in the book every view
    reads."""
    sync_rounds(store, WORLD.catalog, now=NOW)
    talent = [r for r in store.rounds.current_rounds() if r.policy_id == TALENT]
    assert talent
    assert {r.deadline.of if r.deadline else None for r in talent} == {DeadlineOf.ENTERPRISE}
    assert {r.deadline.to if r.deadline else None for r in talent} == {DISTRICT}
    assert all(r.deadline and r.deadline.to == DISTRICT for r in round_book(store)[TALENT])


def test_a_changed_deadline_is_a_new_version_and_the_same_one_is_not(store: Store) -> None:
    city = Deadline(DeadlineOf.CITY, to="区、市经信局")
    _, first = put(store, deadline=city)
    _, same = put(store, deadline=Deadline(DeadlineOf.CITY, to="区、市经信局"))
    assert same.version == first.version == 1
    own = Deadline(DeadlineOf.ENTERPRISE, to="市经信局", then="市经信局审核后报省经信厅")
    old, new = put(store, deadline=own)
    assert (old and old.deadline, new.version, new.deadline) == (city, 2, own)


def test_the_bureaus_published_close_is_the_enterprises_own(store: Store) -> None:
    """The bureau publishes this year's talent round: its close is what the enterprise must
    meet, still handed in where the text says."""
    sync_rounds(store, WORLD.catalog, now=NOW)
    _, new, _ = add_round(
        store,
        WORLD.catalog,
        TALENT,
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 28),
        notice_url="https://example.org/notice",
        now=NOW,
    )
    assert new.deadline is not None
    assert (new.deadline.of, new.deadline.to) == (DeadlineOf.ENTERPRISE, DISTRICT)


def test_terms_first_recorded_are_adopted_without_a_new_version(store: Store) -> None:
    """Rounds recorded before terms were kept take the catalog's at the next sync: nobody is
    told of a change, since nobody heard other terms; a real change after that is a version."""

    _, first = put(store)
    assert (first.version, first.terms) == (1, None)
    terms = {"benefit": "30万元", "conditions": ["工业企业"], "materials": ["申报书"]}
    _, adopted = put(store, terms=terms)
    assert (adopted.version, adopted.terms) == (1, terms)
    _, changed = put(store, terms={**terms, "benefit": "50万元"})
    assert (changed.version, changed.terms and changed.terms["benefit"]) == (2, "50万元")
