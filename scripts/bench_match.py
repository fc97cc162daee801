"""Benchmark: match generated profiles against the whole catalog.

Usage: python scripts/bench_match.py [--profiles N] [--seed S]

Prints, in the same run, the rate of matching every profile against the whole catalog (the
day's per-policy work included) and of a floor (one trivial comparison per profile x policy),
with CPU and wall time, and their ratio (the target is at least 0.2x). Then checks that the
fast decisions equal the full match with reasons on the first --check profiles (exit 1 if
not). Profiles are generated from the vocabularies with a fixed seed, so runs are comparable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from schedulers import Policy
from schedulers.data import load_catalog
from subscriptions import ELIGIBLE, OWNERSHIPS, POSSIBLE, Context, Matcher, Profile, Vocab
from subscriptions.data import load_size_standard, load_vocab

T = TypeVar("T")
MATCHING = (ELIGIBLE, POSSIBLE)  # what a refresh stores per enterprise


def generate(vocab: Vocab, count: int, seed: int) -> list[Profile]:
    """`count` varied profiles: every division, sizes from micro to large, some fields missing."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    divisions = list(vocab.industries.divisions.values())
    qualifications = [q.name for q in vocab.qualifications]
    chains = [c.name for c in vocab.chains]
    districts = [d.name for d in vocab.districts]
    operators = [o.name for o in vocab.operators]

    def maybe(value: T) -> T | None:
        return None if rng.random() < 0.15 else value

    out = []
    for i in range(count):
        division = rng.choice(divisions)
        depth = rng.choice(("", "1", "12"))
        employees = int(rng.lognormvariate(3.5, 1.5))
        out.append(
            Profile(
                name=f"企业{i}",
                industry=division.full_code + depth,
                district=maybe(rng.choice(districts)),
                employees=maybe(employees),
                revenue_wan=maybe(round(employees * rng.uniform(5, 200), 1)),
                assets_wan=maybe(round(employees * rng.uniform(5, 150), 1)),
                above_scale=maybe(rng.random() < 0.3),
                general_taxpayer=maybe(rng.random() < 0.6),
                founded=maybe(dt.date(rng.randint(1990, 2025), rng.randint(1, 12), 1)),
                qualifications=maybe(frozenset(rng.sample(qualifications, rng.randint(0, 3)))),
                chains=maybe(frozenset(rng.sample(chains, rng.randint(0, 1)))),
                rd_expense_wan=maybe(round(employees * rng.uniform(0, 5), 1)),
                export_wan=maybe(rng.choice((0.0, 0.0, round(employees * rng.uniform(1, 50), 1)))),
                ownership=maybe(rng.choice(OWNERSHIPS)),
                operates=maybe(frozenset(rng.sample(operators, rng.randint(0, 1)))),
                rd_institution=maybe(rng.choice(("none", "municipal", "provincial", "national"))),
            )
        )
    return out


def _trivial(profile: Profile, policy: Policy) -> bool:
    return policy.level == profile.district


def _floor(profiles: list[Profile], policies: tuple[Policy, ...]) -> int:
    """One trivial pass over the same profiles x policies: a function call and a comparison
    per pair, the least any matcher that looks at each policy does."""
    n = 0
    for profile in profiles:
        for policy in policies:
            if _trivial(profile, policy):
                n += 1
    return n


def _timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result of `work` with its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--check", type=int, default=2_000, help="profiles also matched in full")
    args = parser.parse_args(argv[1:])
    catalog = load_catalog()
    vocab, standard = load_vocab(), load_size_standard()
    profiles = generate(vocab, args.profiles, args.seed)
    on = dt.date(2026, 12, 4)
    policies = catalog.policies

    _, floor_wall, floor_cpu = _timed(lambda: _floor(profiles, policies))

    def run() -> int:
        """What the city-wide refresh does per enterprise: the ids it may apply for."""
        matcher = Matcher(policies, vocab, on=on)  # the day's work, once
        found = 0
        for profile in profiles:
            found += len(matcher.matching(Context.of(profile, vocab, standard), MATCHING))
        return found

    found, wall, cpu = _timed(run)
    # The fast path must decide exactly as the full match with reasons does.
    full = Matcher(policies, vocab, on=on)
    decisions: Counter[str] = Counter()
    differ = 0
    for profile in profiles[: args.check]:
        ctx = Context.of(profile, vocab, standard)
        slow = {m.policy.id: m.decision for m in full.match_all(ctx)}
        fast = dict(zip((p.id for p in policies), full.decide(ctx), strict=True))
        chosen = [p.id for p in policies if slow[p.id] in MATCHING]
        differ += slow != fast or full.matching(ctx, MATCHING) != chosen
        decisions.update(slow.values())
    n = len(profiles)
    print(f"policies: {len(policies)}, profiles: {n:,}, day: {on}")
    print(
        f"floor (a trivial call per profile x policy): {n / floor_cpu:,.0f} profiles/s CPU "
        f"({floor_cpu:.2f} s CPU, {floor_wall:.2f} s wall)"
    )
    print(
        f"matching (Context.of + Matcher.matching, the ids each may apply for): "
        f"{n / cpu:,.0f} profiles/s CPU "
        f"({cpu:.2f} s CPU, {wall:.2f} s wall)"
    )
    print(
        f"ratio to the floor: {floor_cpu / cpu:.3f}x CPU, {floor_wall / wall:.3f}x wall "
        "(target >= 0.2x)"
    )
    print(f"eligible or possible: {found:,} (profile, policy) pairs, {found / n:.1f} per profile")
    print(
        f"decisions of the first {min(n, args.check):,} profiles: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(decisions.items()))
    )
    print(f"full match with reasons vs fast decisions: {differ} of {min(n, args.check):,} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
