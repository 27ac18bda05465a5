"""Time and peak memory of `headroom-ci learn` on thousands of sessions of real shape.

The sessions are made from a real corpus (--corpus: a folder or a .zip of Claude Code
transcripts; nothing of it is copied into the project): each generated session is the opening
of one real transcript, cut at a line boundary after a length drawn around --mean-kb, with its
session ids replaced by fresh ones and its working folder by a CI checkout path (so the lines,
tool calls, outputs and their sizes are real, and no two sessions share an id). Sessions are
grouped ten to a CI run, each run a collected bundle (`manifest.json` naming the run), all of
one repository, in a scratch folder that is removed afterwards.

Then, for each size, in the same run: `headroom-ci learn` (a dry run, `--format json`) and
`headroom-ci sessions --json` (reading alone) on the first N sessions, each a fresh process,
best of --repeat; peak RSS is that of the largest process of the command.

    python benchmarks/learn_bench.py --corpus transcripts.zip                 # 1,000 / 3,000 / 10,000 sessions
    python benchmarks/learn_bench.py --corpus DIR --sizes 500,2000 --json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.append(str(_REPO))

from benchmarks.real_corpus import open_corpus  # noqa: E402
from headroom_ci.sessions.bundle import manifest  # noqa: E402
from headroom_ci.sessions.model import Run  # noqa: E402

MB = 1_000_000
PER_RUN = 10
CHECKOUTS = ("/home/runner/work/cli/cli", "/__w/cli/cli")  # GitHub-hosted and container jobs
_SESSION_ID = re.compile(rb'"sessionId":"([^"\\]{8,80})"')
_CWD = re.compile(rb'"cwd":"([^"\\]{1,400})"')


@dataclass(frozen=True)
class Source:
    data: bytes
    session_ids: tuple[bytes, ...]
    cwd: bytes


def sources(files: Sequence[Path]) -> list[Source]:
    """The Claude Code project transcripts among `files` (every line names its session and folder)."""
    out = []
    for path in files:
        data = path.read_bytes()
        head = data[:65536]
        cwd = _CWD.search(head)
        if not _SESSION_ID.search(head) or cwd is None:
            continue  # not a Claude Code project transcript (a Gemini chat, an export)
        ids = tuple(dict.fromkeys(_SESSION_ID.findall(data)))
        out.append(Source(data, ids, cwd.group(1)))
    return out


def generate(srcs: list[Source], root: Path, *, sessions: int, mean_kb: float, seed: int) -> tuple[list[Path], int]:
    """Writes `sessions` sessions as bundles of PER_RUN; the run folders in order, and the bytes written."""
    rng = random.Random(seed)
    order = list(range(len(srcs)))
    runs: list[Path] = []
    written = 0
    for n in range(sessions):
        if n % len(srcs) == 0:
            rng.shuffle(order)
        src = srcs[order[n % len(srcs)]]
        if n % PER_RUN == 0:
            run_id = str(9_000_000_000 + n // PER_RUN)
            folder = root / f"run-{run_id}"
            (folder / "claude").mkdir(parents=True)
            run = Run(run_id, attempt=1, workflow="agent", branch="main")
            (folder / "manifest.json").write_text(json.dumps(manifest(repository="entireio/cli", run=run)))
            runs.append(folder)
        # An opening of the transcript, log-normal in length around mean_kb, whole lines.
        budget = int(rng.lognormvariate(0, 0.8) * mean_kb * 1000 / 1.377)  # 1.377: the mean of lognormvariate(0, 0.8)
        end = src.data.find(b"\n", min(budget, len(src.data) - 1))
        chunk = src.data if end < 0 else src.data[:end + 1]
        for old in src.session_ids:
            chunk = chunk.replace(old, str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode())
        chunk = chunk.replace(src.cwd, rng.choice(CHECKOUTS).encode())
        name = f"{n:05d}.jsonl"
        (runs[-1] / "claude" / name).write_bytes(chunk)
        written += len(chunk)
    return runs, written


def _command() -> list[str]:
    script = Path(sys.executable).with_name("headroom-ci")
    return [str(script)] if script.exists() else [sys.executable, "-m", "headroom_ci"]


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _measure_worker(argv: list[str]) -> int:
    """Runs one command: wall time and the peak RSS of its largest process (this one is fresh)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=False, env=_child_env())
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        return 1
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    doc = json.loads(proc.stdout)
    stats = doc.get("totals") or doc.get("stats") or {}
    print(json.dumps({"seconds": seconds, "peak_rss": peak if sys.platform == "darwin" else peak * 1024,
                      "stats": stats}))
    return 0


def _run(argv: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", "--", *argv],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{proc.stderr.strip()}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--corpus", type=Path, help="real Claude Code transcripts: a folder or a .zip")
    p.add_argument("--sizes", default="1000,3000,10000", help="session counts to measure; default 1000,3000,10000")
    p.add_argument("--mean-kb", type=float, default=100, help="mean size of a generated session in KB; default 100")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1, help="runs per command and size, best reported; default 1")
    p.add_argument("--json", action="store_true")
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        return _measure_worker(args.rest)
    if args.corpus is None:
        p.error("--corpus is required")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not sizes or sizes[0] < PER_RUN or args.repeat < 1:
        p.error(f"sizes must be at least {PER_RUN}, --repeat at least 1")
    with tempfile.TemporaryDirectory(prefix="headroom-learn-bench-") as tmp:
        return _bench(args, sizes, Path(tmp))


def _bench(args: argparse.Namespace, sizes: list[int], scratch: Path) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    real = open_corpus(args.corpus, scratch)
    srcs = sources(real.files)
    if not srcs:
        log(f"{args.corpus}: no Claude Code project transcripts")
        return 1
    start = time.perf_counter()
    runs, written = generate(srcs, scratch / "sessions", sessions=sizes[-1], mean_kb=args.mean_kb, seed=args.seed)
    log(f"{sizes[-1]} sessions ({written / MB:.0f} MB) from {len(srcs)} transcripts of {real.name} "
        f"in {time.perf_counter() - start:.1f} s")
    repo = scratch / "repo"
    repo.mkdir()
    (repo / "AGENTS.md").write_text("# cli\n")
    rows = []
    for size in sizes:
        folders = [str(f) for f in runs[: size // PER_RUN]]
        nbytes = sum(f.stat().st_size for r in runs[: size // PER_RUN] for f in (r / "claude").iterdir())
        for path in folders:  # warm the page cache: the disk is not what is measured
            for f in Path(path, "claude").iterdir():
                f.read_bytes()
        commands = {
            "learn": [*_command(), "learn", *folders, "--repo-path", str(repo), "--format", "json"],
            "sessions": [*_command(), "sessions", "--json", *folders],
        }
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                out = _run(argv)
                if name not in best or out["seconds"] < best[name]["seconds"]:
                    best[name] = {**out, "peak_rss": max(out["peak_rss"], best.get(name, {}).get("peak_rss", 0))}
        row = {"sessions": size, "bytes": nbytes, "learn_seconds": best["learn"]["seconds"],
               "learn_peak_rss": best["learn"]["peak_rss"], "sessions_seconds": best["sessions"]["seconds"],
               "sessions_peak_rss": best["sessions"]["peak_rss"], "learn_stats": best["learn"]["stats"]}
        rows.append(row)
        log(f"  {size} sessions: learn {row['learn_seconds']:.1f} s, {row['learn_peak_rss'] / MB:.0f} MB; "
            f"sessions {row['sessions_seconds']:.1f} s")
    env = {"corpus": real.name, "source_transcripts": len(srcs), "mean_kb": args.mean_kb, "seed": args.seed,
           "repeat": args.repeat, "python": platform.python_version(), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({**env, "results": rows}, indent=2))
        return 0
    print(f"sessions made from {len(srcs)} transcripts of {real.name} (mean {args.mean_kb:g} KB, seed {args.seed}), "
          f"{PER_RUN} per CI run; best of {args.repeat}; Python {env['python']}, {env['cpus']} CPUs")
    print(f"{'sessions':>8} {'MB':>7} {'learn s':>8} {'sessions/s':>10} {'MB/s':>6} {'peak RSS MB':>11} "
          f"{'read-only s':>11} {'read peak MB':>12}")
    for r in rows:
        print(f"{r['sessions']:>8,} {r['bytes'] / MB:>7.0f} {r['learn_seconds']:>8.1f} "
              f"{r['sessions'] / r['learn_seconds']:>10,.0f} {r['bytes'] / MB / r['learn_seconds']:>6.0f} "
              f"{r['learn_peak_rss'] / MB:>11.0f} {r['sessions_seconds']:>11.1f} {r['sessions_peak_rss'] / MB:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
