"""What efficacy costs `learn`: mining sessions with the run log (before/after figures per rule)
against mining alone, measured in the same run on the same sessions.

The sessions are digest_bench.py's `dense` ones (30 calls each, 3 of 120 recurring failures with
their fixes), each from a CI run with a time. Three ways, round-robin, best of `--repeat`:

- `mine`: `commands.learn.mine` alone, the baseline;
- `+ log, no rules`: with a run log and no rules in effect (a first run: the log only counts runs);
- `+ log, N rules`: with a run log looking for the failures of N rules in effect.

    python3 benchmarks/efficacy_bench.py                  # 1,000 and 3,000 sessions
    python3 benchmarks/efficacy_bench.py --sizes 300 --repeat 5 --json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.append(str(_REPO))  # appended: an installed headroom_ci still wins over the checkout

from benchmarks.digest_bench import dense  # noqa: E402
from headroom_ci.commands.learn import mine  # noqa: E402
from headroom_ci.learning.efficacy import RunLog  # noqa: E402
from headroom_ci.learning.identity import failure_id  # noqa: E402
from headroom_ci.mining.findings import Thresholds  # noqa: E402
from headroom_ci.sessions.model import Run  # noqa: E402
from headroom_ci.sessions.model import Session  # noqa: E402


def sessions(n: int) -> list[Session]:
    out = []
    for i, s in enumerate(dense(n, seed=7)):
        run = s.run or Run("r0")
        out.append(dataclasses.replace(s, run=dataclasses.replace(
            run, created_at=f"2026-11-{1 + i * 28 // n:02d}T{i % 24:02d}:00:00Z")))
    return out


def measure(n: int, *, repeat: int, rules: int) -> dict[str, object]:
    items = sessions(n)
    miner, _ = mine(items, repo_path=None)
    wanted = frozenset(failure_id(f.kind, f.key) for f in miner.findings(Thresholds())[:rules])
    ways = {"mine": lambda: mine(items, repo_path=None),
            "+ log, no rules": lambda: mine(items, repo_path=None, runs=RunLog(repo_path=None, failures=frozenset())),
            f"+ log, {len(wanted)} rules": lambda: mine(items, repo_path=None,
                                                         runs=RunLog(repo_path=None, failures=wanted))}
    best = {name: float("inf") for name in ways}
    for _ in range(repeat):
        for name, run in ways.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    base = best["mine"]
    return {"sessions": n, "seconds": {k: round(v, 3) for k, v in best.items()},
            "ratio": {k: round(v / base, 2) for k, v in best.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The run log's cost against mining alone.")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 3000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rules", type=int, default=20, help="rules in effect the log looks for (default: 20)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = [measure(n, repeat=args.repeat, rules=args.rules) for n in args.sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    names = list(rows[0]["ratio"])  # type: ignore[call-overload]
    print("| sessions | " + " | ".join(f"{n} s (ratio)" for n in names) + " |")
    print("|---:|" + "---:|" * len(names))
    for row in rows:
        secs, ratio = row["seconds"], row["ratio"]
        print(f"| {row['sessions']:,} | " + " | ".join(f"{secs[n]:.2f} ({ratio[n]:.2f})"  # type: ignore[index]
                                                      for n in names) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
