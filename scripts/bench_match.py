"""Benchmark: match generated profiles against the whole catalog.

Usage: python scripts/bench_match.py [--profiles N] [--seed S]

Prints profiles per second and the mean time to match one profile against every policy
(the target is under 5 ms). Profiles are generated from the vocabularies with a fixed seed,
so runs are comparable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from typing import TypeVar

from schedulers.data import load_catalog
from subscriptions import Context, Profile, Vocab, match_all
from subscriptions.data import load_size_standard, load_vocab

T = TypeVar("T")


def generate(vocab: Vocab, count: int, seed: int) -> list[Profile]:
    """`count` varied profiles: every division, sizes from micro to large, some fields missing."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    divisions = list(vocab.industries.divisions.values())
    qualifications = [q.name for q in vocab.qualifications]
    chains = [c.name for c in vocab.chains]
    districts = [d.name for d in vocab.districts]

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
            )
        )
    return out


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv[1:])
    catalog = load_catalog()
    vocab, standard = load_vocab(), load_size_standard()
    profiles = generate(vocab, args.profiles, args.seed)
    on = dt.date(2026, 11, 22)
    durations = []
    decisions = {"eligible": 0, "possible": 0, "ineligible": 0}
    start = time.perf_counter()
    for profile in profiles:
        t0 = time.perf_counter()
        for m in match_all(Context.of(profile, vocab, standard), catalog.policies, on=on):
            decisions[m.decision] += 1
        durations.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    durations.sort()
    print(f"policies: {len(catalog.policies)}, profiles: {len(profiles)}")
    print(f"total: {total:.1f} s, {len(profiles) / total:,.0f} profiles/s")
    print(
        f"per profile: mean {statistics.fmean(durations) * 1000:.2f} ms, "
        f"p50 {durations[len(durations) // 2] * 1000:.2f} ms, "
        f"p99 {durations[int(len(durations) * 0.99)] * 1000:.2f} ms"
    )
    print("decisions: " + ", ".join(f"{k} {v:,}" for k, v in decisions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
