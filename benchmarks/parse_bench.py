"""Throughput and peak memory of reading agent transcripts: headroom-ci against two baselines.

Two corpora, each read in the same run, on the same files, by every reader:

  synthetic   built here (benchmarks/corpus.py: Claude Code projects with subagents, plus
              Codex rollouts); skipped with --size-mb 0
  real        --corpus PATH: a folder or a .zip of transcripts someone else wrote (a zip is
              extracted into a scratch folder first; nothing is copied into the project)

Readers:

  headroom-ci sessions --json   the whole command as a user runs it: a fresh process, start-up,
                                every worker process, the JSON written (to /dev/null)
  headroom-ci                   headroom_ci.sessions.load.iter_paths in-process, streamed, one
                                worker process per CPU (the command's default)
  headroom-ci, 1 job            the same, everything in one process
  json.loads                    a text-mode `json.loads` per line and nothing else: the naive floor
  headroom-ai                   ClaudeCodePlugin._scan_session of the headroom-ai package, Claude
                                files only, in-process (its start-up and imports not counted);
                                run by --headroom-ai-python (or $HEADROOM_AI_PYTHON), so it can
                                live in its own virtualenv

Half of each corpus is read too (by the command and in-process), so peak RSS can be compared
across corpus sizes. Each reader runs in a fresh subprocess so its peak RSS is its own,
`--repeat` times, round-robin so background load hits every reader alike; the best time is
reported. See benchmarks/README.md.

    python benchmarks/parse_bench.py                         # 200 MB synthetic corpus in a temp dir
    python benchmarks/parse_bench.py --corpus transcripts.zip --headroom-ai-python /tmp/hai/bin/python
    python benchmarks/parse_bench.py --size-mb 0 --corpus DIR --json
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
from dataclasses import field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    # Run as a script, only benchmarks/ is on the path. Appended, so an installed
    # headroom_ci or one on PYTHONPATH still wins over the checkout.
    sys.path.append(str(_REPO))

from benchmarks.corpus import build_corpus  # noqa: E402
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


def _headroom_ci(jobs: int | None) -> Callable[[], Reader]:
    def factory() -> Reader:
        from headroom_ci.sessions.load import iter_paths
        from headroom_ci.sessions.model import Session

        def read(dirs: list[Path]) -> Counts:
            # Streamed as the `sessions` command does: each session is counted and
            # dropped, so the peak is the reader's working set, not what it returns.
            counts = {"sessions": 0, "calls": 0, "errors": 0, "skipped": 0}
            for item in iter_paths(dirs, jobs=jobs):
                if isinstance(item, Session):
                    counts["sessions"] += 1
                    counts["calls"] += len(item.tool_calls)
                    counts["errors"] += item.errors
                else:
                    counts["skipped"] += 1
            return counts
        return read
    return factory


def _json_loads() -> Reader:
    def read(dirs: list[Path]) -> Counts:
        records = 0
        for path in transcript_files(dirs):
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        json.loads(line)
                    except ValueError:  # a broken line: what a reader skips
                        continue
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


COMMAND = "headroom-ci sessions --json"
READERS: dict[str, Callable[[], Reader]] = {
    "headroom-ci": _headroom_ci(None), "headroom-ci, 1 job": _headroom_ci(1),
    "json.loads": _json_loads, "headroom-ai": _headroom_ai,
}


def headroom_ai_python(given: str | None) -> str | None:
    """The interpreter that has headroom-ai: the one given, else this one if it has it."""
    if given:
        return given
    try:
        return sys.executable if importlib.util.find_spec("headroom.learn.plugins.claude") else None
    except ModuleNotFoundError:
        return None


def _command() -> list[str]:
    """`headroom-ci` as users start it: the console script beside this interpreter, else `-m`."""
    script = Path(sys.executable).with_name("headroom-ci")
    return [str(script)] if script.exists() else [sys.executable, "-m", "headroom_ci"]


def _child_env() -> dict[str, str]:
    # Bytecode cached as for an installed command; with PYTHONDONTWRITEBYTECODE set every
    # run would compile every module it imports.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


# --------------------------------------------------------------------------- workers


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


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the reader's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _worker(reader: str, dirs: list[Path]) -> int:
    read = READERS[reader]()
    base = _max_rss()
    cpu = _cpu()
    start = time.perf_counter()
    counts = read(dirs)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "cpu": _cpu() - cpu, "peak_rss": _max_rss(), "base_rss": base,
                      "counts": counts}))
    return 0


def _command_worker(dirs: list[Path]) -> int:
    """Runs the command once: its wall time, start-up included, and the peak RSS of the largest
    of its processes (RUSAGE_CHILDREN: this process is fresh, so only theirs counts)."""
    start = time.perf_counter()
    proc = subprocess.run([*_command(), "sessions", "--json", *map(str, dirs)], stdout=subprocess.PIPE,
                          check=False, env=_child_env())
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"the command exited {proc.returncode}", file=sys.stderr)
        return 1
    totals = json.loads(proc.stdout)["totals"]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": _cpu(),
                      "peak_rss": peak if sys.platform == "darwin" else peak * 1024,
                      "base_rss": 0, "counts": {"sessions": totals["sessions"], "calls": totals["tool_calls"],
                                                "errors": totals["errors"]}}))
    return 0


def _run_worker(reader: str, dirs: Sequence[Path], python: str) -> dict[str, Any]:
    mode = ["--command-worker"] if reader == COMMAND else ["--worker", reader]
    cmd = [python, str(Path(__file__).resolve()), *mode, *map(str, dirs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_child_env())
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
    cpu: list[float] = field(default_factory=list)
    python: str = sys.executable
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
    "all": "whole corpus",
    "claude": "Claude only",
    "half": "half corpus",
}


def _jobs(subsets: dict[str, list[Path]], ai_python: str | None) -> list[Job]:
    """What is run on a corpus: `subsets` maps all / claude (what headroom-ai reads) / half to folders."""
    plan = [(COMMAND, "all"), ("headroom-ci", "all"), ("headroom-ci, 1 job", "all"), ("json.loads", "all")]
    claude = "claude" if subsets["claude"] != subsets["all"] else "all"
    if claude == "claude":
        plan += [(COMMAND, "claude"), ("headroom-ci", "claude"), ("json.loads", "claude")]
    if ai_python:
        plan.append(("headroom-ai", claude))
    plan += [(COMMAND, "half"), ("headroom-ci", "half")]
    jobs = []
    for reader, subset in plan:
        files = transcript_files(subsets[subset])
        jobs.append(Job(reader, subset, subsets[subset], len(files), total_bytes(files), [],
                        python=ai_python if reader == "headroom-ai" and ai_python else sys.executable))
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
            out = _run_worker(job.reader, job.dirs, job.python)
            job.seconds.append(out["seconds"])
            job.cpu.append(out["cpu"])
            # Peak RSS barely varies run to run; the highest is reported (conservative).
            job.peak_rss = max(job.peak_rss, out["peak_rss"])
            job.base_rss = out["base_rss"] if not job.base_rss else min(job.base_rss, out["base_rss"])
            job.counts = job.counts or out["counts"]
            log(f"  run {round_}/{repeat}: {job.reader:<28} {SUBSETS[job.subset]:<13} "
                f"{out['seconds']:7.2f} s")


# --------------------------------------------------------------------------- report


def _find(jobs: list[Job], reader: str, subset: str) -> Job | None:
    return next((j for j in jobs if j.reader == reader and j.subset == subset), None)


def _ratios(jobs: list[Job]) -> dict[str, dict[str, float]]:
    """headroom-ci's throughput (whole command, in-process) over each baseline's, same files, same
    run: from each one's best time, and the median of the rounds' ratios (each round runs every
    reader back to back, so a ratio of one round compares readers under the same load)."""
    out = {}
    for ours_name in (COMMAND, "headroom-ci", "headroom-ci, 1 job"):
        for subset in ("all", "claude"):
            ours = _find(jobs, ours_name, subset)
            for base in ("json.loads", "headroom-ai"):
                theirs = _find(jobs, base, subset)
                if ours and theirs:
                    paired = sorted(b / o for o, b in zip(ours.seconds, theirs.seconds, strict=True))
                    out[f"{ours_name}|{subset}|{base}"] = {
                        "best": ours.mb_per_s / theirs.mb_per_s, "median_round": paired[len(paired) // 2],
                        "cpu": min(theirs.cpu) / min(ours.cpu)}
    return out


def _found(counts: Counts | None) -> str:
    if not counts:
        return ""
    if "records" in counts:
        return f"{counts['records']} records"
    return f"{counts['sessions']} sessions, {counts['calls']} calls, {counts['errors']} errors"


def _table(jobs: list[Job]) -> list[str]:
    head = (f"{'reader':<28} {'corpus':<13} {'files':>5} {'MB':>6} {'best s':>6} {'MB/s':>6} {'CPU s':>6} "
            f"{'peak RSS MB':>11} {'+read MB':>8}  found")
    rows = [head, "-" * (len(head) + 30)]
    for j in jobs:
        added = f"{max(0, j.peak_rss - j.base_rss) / MB:>8.1f}" if j.base_rss else f"{'':>8}"
        rows.append(f"{j.reader:<28} {SUBSETS[j.subset]:<13} {j.files:>5} {j.bytes / MB:>6.1f} "
                    f"{j.best:>6.2f} {j.mb_per_s:>6.1f} {min(j.cpu):>6.2f} {j.peak_rss / MB:>11.1f} {added}  "
                    f"{_found(j.counts)}")
    return rows


def _memory(jobs: list[Job]) -> dict[str, dict[str, int]]:
    """Peak RSS on half and all of the corpus: the command's largest process, and in-process."""
    out: dict[str, dict[str, int]] = {}
    for reader in (COMMAND, "headroom-ci"):
        half, full = _find(jobs, reader, "half"), _find(jobs, reader, "all")
        if half and full:
            out[reader] = {"half_bytes": half.bytes, "half_peak_rss": half.peak_rss,
                           "all_bytes": full.bytes, "all_peak_rss": full.peak_rss}
    return out


def _ratio_lines(jobs: list[Job], ratios: dict[str, dict[str, float]], ai_python: str | None) -> list[str]:
    lines = ["ratios of throughput: best time over best time / median of the rounds' ratios / CPU time"]
    for ours in (COMMAND, "headroom-ci", "headroom-ci, 1 job"):
        for subset in ("all", "claude"):
            parts = [f"{r['best']:.2f}x / {r['median_round']:.2f}x / {r['cpu']:.2f}x {b}"
                     for b in ("headroom-ai", "json.loads") if (r := ratios.get(f"{ours}|{subset}|{b}"))]
            if parts:
                lines.append(f"{ours}, {SUBSETS[subset]}: {', '.join(parts)}")
    if not ai_python:
        lines.append(f"headroom-ai: skipped (not installed here; `{HEADROOM_AI_HINT}` into a virtualenv and "
                     "pass its python as --headroom-ai-python)")
    for reader, m in _memory(jobs).items():
        what = "largest process" if reader == COMMAND else "in-process"
        lines.append(f"{reader} peak RSS ({what}): {m['half_peak_rss'] / MB:.0f} MB reading "
                     f"{m['half_bytes'] / MB:.0f} MB, {m['all_peak_rss'] / MB:.0f} MB reading {m['all_bytes'] / MB:.0f} MB")
    return lines


def _synthetic_line(info: dict[str, Any]) -> str:
    c, x = info["claude"], info["codex"]
    return (f"synthetic corpus: {(c['bytes'] + x['bytes']) / MB:.1f} MB in {c['files'] + x['files']} files: "
            f"Claude {c['bytes'] / MB:.1f} MB in {c['files']} files ({c['subagent_files']} subagent, "
            f"{c['smallest'] / 1000:.0f} KB to {c['largest'] / MB:.1f} MB), "
            f"Codex {x['bytes'] / MB:.1f} MB in {x['files']} files")


# --------------------------------------------------------------------------- main


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size-mb", type=float, default=200,
                   help="synthetic corpus size in MB (10^6 bytes); 0: no synthetic corpus; default 200")
    p.add_argument("--corpus", type=Path, help="a real corpus: a folder or a .zip of transcripts")
    p.add_argument("--headroom-ai-python", default=os.environ.get("HEADROOM_AI_PYTHON"), metavar="PYTHON",
                   help="a Python with headroom-ai installed (default: $HEADROOM_AI_PYTHON, else this one if it has it)")
    p.add_argument("--out", type=Path, help="keep the synthetic corpus in DIR (reused when size and seed match)")
    p.add_argument("--seed", type=int, default=1, help="corpus seed; default 1")
    p.add_argument("--repeat", type=int, default=3, help="runs per reader, best reported; default 3")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.add_argument("--worker", choices=sorted(READERS), help=argparse.SUPPRESS)
    p.add_argument("--command-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return _worker(args.worker, list(args.paths))
    if args.command_worker:
        return _command_worker(list(args.paths))
    if args.repeat < 1 or args.size_mb < 0:
        print("--repeat must be positive and --size-mb not negative", file=sys.stderr)
        return 2
    if args.size_mb == 0 and args.corpus is None:
        print("nothing to measure: --size-mb 0 and no --corpus", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
        return _bench(args, Path(tmp))


def _bench(args: argparse.Namespace, scratch: Path) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    ai_python = headroom_ai_python(args.headroom_ai_python)
    results: dict[str, Any] = {}
    text: list[str] = []
    corpora: list[tuple[str, str, dict[str, list[Path]], Path, dict[str, Any]]] = []
    if args.size_mb > 0:
        root = args.out if args.out is not None else scratch / "synthetic"
        start = time.perf_counter()
        corpus = build_corpus(root, size_mb=args.size_mb, seed=args.seed)
        info = describe(corpus)
        log(f"synthetic corpus ready in {root} ({time.perf_counter() - start:.1f} s)")
        subsets = {"all": corpus.dirs(), "claude": corpus.dirs(agent="claude"), "half": corpus.dirs(half=0)}
        corpora.append(("synthetic", _synthetic_line(info), subsets, root, {"describe": info}))
    if args.corpus is not None:
        from benchmarks.real_corpus import half_of
        from benchmarks.real_corpus import open_corpus
        real = open_corpus(args.corpus, scratch)
        half = half_of(real, scratch)
        line = (f"real corpus {real.name}: {real.bytes / MB:.1f} MB in {len(real.files)} files "
                f"(half: {half.bytes / MB:.1f} MB in {len(half.files)} files)")
        log(line)
        corpora.append(("real", line, {"all": [real.root], "claude": [real.root], "half": [half.root]}, real.root,
                        {"name": real.name, "files": len(real.files), "bytes": real.bytes}))
    env = {"repeat": args.repeat, "python": platform.python_version(), "cpus": os.cpu_count(),
           "headroom_ai": f"measured with {ai_python}" if ai_python else f"skipped: {HEADROOM_AI_HINT}"}
    for name, line, subsets, _root, info in corpora:
        log(f"{name}:")
        for folders in subsets.values():
            for folder in folders:
                _warm_cache(folder)
        jobs = _jobs(subsets, ai_python)
        try:
            _measure(jobs, args.repeat, log)
        except RuntimeError as exc:  # a reader crashed or could not be imported
            log(str(exc))
            return 1
        ratios = _ratios(jobs)
        results[name] = {
            **info, "results": [{**{k: v for k, v in asdict(j).items() if k not in ("dirs", "python")},
                                 "best_seconds": j.best, "mb_per_s": j.mb_per_s} for j in jobs],
            "ratios": ratios, "memory": _memory(jobs)}
        text += [line, "", *_table(jobs), "", *_ratio_lines(jobs, ratios, ai_python), ""]
    if args.json:
        print(json.dumps({**env, **results}, indent=2))
    else:
        print("\n".join([f"best of {args.repeat}; Python {env['python']}, {env['cpus']} CPUs", "", *text]).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
