"""Benchmark: the command line's start-up, beside `python -c "import json"` on the same machine.

Usage: python scripts/bench_cli.py [--runs N]

Runs each command N times in a fresh process (median wall time) and prints the ratio to the
reference (target: `huiqi classify` and `huiqi policies --json` each within 10x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HUIQI = str(BIN / "huiqi")
CLASSIFY = [HUIQI, "classify", "--industry", "C3976", "--employees", "180", "--revenue", "12000"]
COMMANDS = {
    'python -c "import json"': [sys.executable, "-c", "import json"],
    "huiqi classify --json": [*CLASSIFY, "--json"],
    "huiqi classify": CLASSIFY,
    "huiqi policies --json": [HUIQI, "policies", "--json"],
}


def median_seconds(command: list[str], runs: int) -> float:
    """The median wall time of `runs` fresh runs of `command`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # noqa: S603
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv[1:])
    found = {name: median_seconds(cmd, args.runs) for name, cmd in COMMANDS.items()}
    reference = found['python -c "import json"']
    for name, seconds in found.items():
        print(f"{name}: {seconds * 1000:.0f} ms wall, {seconds / reference:.1f}x the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
