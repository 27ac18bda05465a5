"""Throughput and peak memory of reading agent transcripts: headroom-ci against two baselines.

Builds a synthetic corpus (benchmarks/corpus.py: Claude Code projects with subagents, plus
Codex rollouts), then reads it, in the same run and on the same files, with:

  headroom-ci   headroom_ci.sessions.load.iter_paths, the real entry point, streamed
  json.loads    a text-mode `json.loads` per line and nothing else: the naive floor
  headroom-ai   ClaudeCodePlugin._scan_session from the headroom-ai package, Claude files only

headroom-ci also reads half the corpus, so its peak RSS can be compared across corpus sizes.

Each reader runs in a fresh subprocess so its peak RSS is its own, `--repeat` times,
round-robin so background load hits every reader alike; the best time is reported.
See benchmarks/README.md.

    python benchmarks/parse_bench.py                  # 200 MB corpus in a temp dir
    python benchmarks/parse_bench.py --size-mb 50 --out bench-out --json
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    # Run as a script, only benchmarks/ is on the path. Appended, so an installed
    # headroom_ci or one on PYTHONPATH still wins over the checkout.
    sys.path.append(str(_REPO))

from benchmarks.corpus import build_corpus  # noqa: E402
from benchmarks.corpus import Corpus  # noqa: E402
from benchmarks.corpus import describe  # noqa: E402
from benchmarks.corpus import total_bytes  # noqa: E402
from benchmarks.corpus import transcript_files  # noqa: E402

MB = 1_000_000
HEADROOM_AI_HINT = "pip install headroom-ai"
Counts = dict[str, int]
Reader = Callable[[list[Path]], Counts]


# --------------------------------------------------------------------------- readers
# Each factory imports what its reader needs, so the worker can take its baseline
# RSS after the imports and before the first byte is read.


def _headroom_ci() -> Reader:
    from headroom_ci.sessions.load import iter_paths
    from headroom_ci.sessions.model import Session

    def read(dirs: list[Path]) -> Counts:
        # Streamed as the `sessions` command does: each session is counted and
        # dropped, so the peak is the reader's working set, not what it returns.
        counts = {"sessions": 0, "calls": 0, "errors": 0, "skipped": 0}
        for item in iter_paths(dirs):
            if isinstance(item, Session):
                counts["sessions"] += 1
                counts["calls"] += len(item.tool_calls)
                counts["errors"] += item.errors
            else:
                counts["skipped"] += 1
        return counts
    return read


def _json_loads() -> Reader:
    def read(dirs: list[Path]) -> Counts:
        records = 0
        for path in transcript_files(dirs):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    json.loads(line)
                    records += 1
        return {"records": records}
    return read


def _headroom_ai() -> Reader:
    from headroom.learn.plugins.claude import ClaudeCodePlugin  # type: ignore[import-not-found,unused-ignore]

    # The constructor only records the folder; nothing under ~/.claude is read.
    plugin = ClaudeCodePlugin(claude_dir=Path(tempfile.gettempdir()) / "headroom-bench-none")

    def read(dirs: list[Path]) -> Counts:
        # What ClaudeCodePlugin.scan_project does per project: every *.jsonl below
        # it, sessions kept when they have tool calls.
        sessions = []
        for project in dirs:
            for path in sorted(project.rglob("*.jsonl")):
                session = plugin._scan_session(path, source=plugin._classify_source(project, path))
                if session and session.tool_calls:
                    sessions.append(session)
        return {"sessions": len(sessions), "calls": sum(len(s.tool_calls) for s in sessions),
                "errors": sum(1 for s in sessions for c in s.tool_calls if c.is_error)}
    return read


READERS: dict[str, Callable[[], Reader]] = {
    "headroom-ci": _headroom_ci,
    "json.loads": _json_loads, "headroom-ai": _headroom_ai,
}


def headroom_ai_available() -> bool:
    try:
        return importlib.util.find_spec("headroom.learn.plugins.claude") is not None
    except ModuleNotFoundError:
        return False


# --------------------------------------------------------------------------- worker


def _max_rss() -> int:
    """Peak RSS of this process in bytes.

    On Linux, ru_maxrss of a child starts at the parent's peak (the kernel carries the
    high-water mark of the forked image across exec), so after building a corpus every
    worker would report at least the parent's size. VmHWM belongs to the exec'd image only.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def _worker(reader: str, dirs: list[Path]) -> int:
    read = READERS[reader]()
    base = _max_rss()
    start = time.perf_counter()
    counts = read(dirs)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss": _max_rss(), "base_rss": base, "counts": counts}))
    return 0


def _run_worker(reader: str, dirs: Sequence[Path]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", reader, *map(str, dirs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{reader} worker failed ({proc.returncode}):\n{proc.stderr.strip()}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# --------------------------------------------------------------------------- measuring


@dataclass
class Job:
    reader: str
    subset: str  # "all" | "claude" | "half"
    dirs: list[Path]
    files: int
    bytes: int
    seconds: list[float]
    peak_rss: int = 0
    base_rss: int = 0
    counts: Counts | None = None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.best


SUBSETS = {
    "all": "Claude + Codex",
    "claude": "Claude only",
    "half": "half corpus",
}


def _jobs(corpus: Corpus, with_headroom_ai: bool) -> list[Job]:
    subsets = {"all": corpus.dirs(), "claude": corpus.dirs(agent="claude"), "half": corpus.dirs(half=0)}
    plan = [("headroom-ci", "all"), ("json.loads", "all"), ("headroom-ci", "claude"),
            ("json.loads", "claude")]
    if with_headroom_ai:
        plan.append(("headroom-ai", "claude"))
    plan += [("headroom-ci", "half")]
    jobs = []
    for reader, subset in plan:
        files = transcript_files(subsets[subset])
        jobs.append(Job(reader, subset, subsets[subset], len(files), total_bytes(files), []))
    return jobs


def _warm_cache(root: Path) -> None:
    """Reads every file once so the runs measure parsing, not the disk."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                while fh.read(1 << 20):
                    pass


def _measure(jobs: list[Job], repeat: int, log: Callable[[str], None]) -> None:
    for round_ in range(1, repeat + 1):
        for job in jobs:
            out = _run_worker(job.reader, job.dirs)
            job.seconds.append(out["seconds"])
            # Peak RSS barely varies run to run; the highest is reported (conservative).
            job.peak_rss = max(job.peak_rss, out["peak_rss"])
            job.base_rss = out["base_rss"] if not job.base_rss else min(job.base_rss, out["base_rss"])
            job.counts = job.counts or out["counts"]
            log(f"  run {round_}/{repeat}: {job.reader:<20} {SUBSETS[job.subset]:<14} "
                f"{out['seconds']:7.2f} s")


# --------------------------------------------------------------------------- report


def _find(jobs: list[Job], reader: str, subset: str) -> Job | None:
    return next((j for j in jobs if j.reader == reader and j.subset == subset), None)


def _ratios(jobs: list[Job]) -> dict[str, float]:
    """headroom-ci throughput over each baseline's, on the same files in the same run."""
    out = {}
    for subset in ("all", "claude"):
        ours = _find(jobs, "headroom-ci", subset)
        for base in ("json.loads", "headroom-ai"):
            theirs = _find(jobs, base, subset)
            if ours and theirs:
                out[f"{subset}:{base}"] = ours.mb_per_s / theirs.mb_per_s
    return out


def _found(counts: Counts | None) -> str:
    if not counts:
        return ""
    if "records" in counts:
        return f"{counts['records']} records"
    return f"{counts['calls']} calls, {counts['errors']} errors"


def _table(jobs: list[Job]) -> list[str]:
    head = (f"{'reader':<20} {'corpus':<15} {'files':>5} {'MB':>6} {'best s':>6} {'MB/s':>6} "
            f"{'peak RSS MB':>11} {'+read MB':>8}  found")
    rows = [head, "-" * (len(head) + 20)]
    for j in jobs:
        rows.append(f"{j.reader:<20} {SUBSETS[j.subset]:<15} {j.files:>5} {j.bytes / MB:>6.1f} "
                    f"{j.best:>6.2f} {j.mb_per_s:>6.1f} {j.peak_rss / MB:>11.1f} "
                    f"{max(0, j.peak_rss - j.base_rss) / MB:>8.1f}  {_found(j.counts)}")
    return rows


def _memory(jobs: list[Job]) -> dict[str, int]:
    """headroom-ci peak RSS on half and all of the corpus."""
    out = {}
    for key, reader, subset in (("half", "headroom-ci", "half"), ("all", "headroom-ci", "all")):
        job = _find(jobs, reader, subset)
        if job:
            out[f"{key}_bytes"], out[f"{key}_peak_rss"] = job.bytes, job.peak_rss
    return out


def _ratio_lines(jobs: list[Job], ratios: dict[str, float], headroom_ai: bool) -> list[str]:
    lines = []
    for subset in ("all", "claude"):
        parts = [f"{ratios[f'{subset}:{b}']:.1f}x {b}" for b in ("json.loads", "headroom-ai")
                 if f"{subset}:{b}" in ratios]
        if parts:
            lines.append(f"headroom-ci, {SUBSETS[subset]}: {', '.join(parts)}")
    if not headroom_ai:
        lines.append(f"headroom-ai: skipped (not installed in this Python; `{HEADROOM_AI_HINT}`)")
    m = _memory(jobs)
    if "all_peak_rss" in m and "half_peak_rss" in m:
        lines.append(
            f"headroom-ci peak RSS: {m['half_peak_rss'] / MB:.0f} MB reading {m['half_bytes'] / MB:.0f} MB, "
            f"{m['all_peak_rss'] / MB:.0f} MB reading {m['all_bytes'] / MB:.0f} MB")
    return lines


def _corpus_line(info: dict[str, Any], repeat: int) -> str:
    c, x = info["claude"], info["codex"]
    return (f"corpus: {(c['bytes'] + x['bytes']) / MB:.1f} MB in {c['files'] + x['files']} files: "
            f"Claude {c['bytes'] / MB:.1f} MB in {c['files']} files ({c['subagent_files']} subagent, "
            f"{c['smallest'] / 1000:.0f} KB to {c['largest'] / MB:.1f} MB), "
            f"Codex {x['bytes'] / MB:.1f} MB in {x['files']} files; "
            f"best of {repeat}; Python {platform.python_version()}, {os.cpu_count()} CPUs")


# --------------------------------------------------------------------------- main


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size-mb", type=float, default=200, help="corpus size in MB (10^6 bytes); default 200")
    p.add_argument("--out", type=Path, help="keep the corpus in DIR (reused when size and seed match)")
    p.add_argument("--seed", type=int, default=1, help="corpus seed; default 1")
    p.add_argument("--repeat", type=int, default=3, help="runs per reader, best reported; default 3")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.add_argument("--worker", choices=sorted(READERS), help=argparse.SUPPRESS)
    p.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return _worker(args.worker, list(args.paths))
    if args.repeat < 1 or args.size_mb <= 0:
        print("--repeat and --size-mb must be positive", file=sys.stderr)
        return 2
    if args.out is not None:
        return _bench(args, args.out)
    with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
        return _bench(args, Path(tmp))


def _bench(args: argparse.Namespace, root: Path) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    corpus = build_corpus(root, size_mb=args.size_mb, seed=args.seed)
    info = describe(corpus)
    log(f"corpus ready in {root} ({time.perf_counter() - start:.1f} s)")
    _warm_cache(root)
    with_ai = headroom_ai_available()
    jobs = _jobs(corpus, with_ai)
    try:
        _measure(jobs, args.repeat, log)
    except RuntimeError as exc:  # a reader crashed or could not be imported
        log(str(exc))
        return 1
    ratios = _ratios(jobs)
    if args.json:
        print(json.dumps({
            "corpus": info, "repeat": args.repeat, "python": platform.python_version(),
            "cpus": os.cpu_count(), "headroom_ai": "measured" if with_ai else f"skipped: {HEADROOM_AI_HINT}",
            "results": [{**{k: v for k, v in asdict(j).items() if k != "dirs"},
                         "best_seconds": j.best, "mb_per_s": j.mb_per_s} for j in jobs],
            "ratios": ratios, "memory": _memory(jobs),
        }, indent=2))
    else:
        print("\n".join([_corpus_line(info, args.repeat), "", *_table(jobs), "",
                         *_ratio_lines(jobs, ratios, with_ai)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
