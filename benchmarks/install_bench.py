"""What the collect step and the check hook's environment cost to install, against the full
install measured in the same run.

Cases, each a fresh virtual environment under a temporary folder, built the way its user builds it:

- `full (action lock)`: what collect installed before: `python -m venv` (with pip), then every
  package of action-requirements.txt, hash-checked, with that venv's pip. The baseline.
- `collect, pip`: what collect/action.yml does on a runner without uv: `python -m venv --without-pip`,
  then collect-requirements.txt (msgspec) installed by the interpreter's own pip (`pip --python`).
- `collect, uv`: the same with `uv pip install` (when uv is on PATH).
- `check hook (base)`: what pre-commit builds for headroom-learn-check: a venv with pip and
  `pip install .` (PyYAML and msgspec).
- `check hook before`: the same with the `full` extra, what every hook environment held before.

Wheels come from pip's and uv's caches or the configured index: run once to warm the caches, then
measure (`--runs`, default 3, round-robin; the fastest is reported). Sizes are the venv's bytes on
disk (`du`), the interpreter's own files excluded.

    python benchmarks/install_bench.py
    python benchmarks/install_bench.py --runs 5 --json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIP = ["--quiet", "--disable-pip-version-check", "--no-input"]
LOCKED = ["--no-deps", "--require-hashes", "--only-binary", ":all:"]


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def full_lock(python: str, venv: Path) -> None:
    _run(python, "-m", "venv", str(venv))
    _run(str(venv / "bin" / "python"), "-m", "pip", "install", *PIP, *LOCKED, "-r", str(REPO / "action-requirements.txt"))


def collect_pip(python: str, venv: Path) -> None:
    _run(python, "-m", "venv", "--without-pip", str(venv))
    _run(python, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", *PIP, *LOCKED,
         "-r", str(REPO / "collect-requirements.txt"))


def collect_uv(python: str, venv: Path) -> None:
    _run(python, "-m", "venv", "--without-pip", str(venv))
    _run("uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *LOCKED,
         "-r", str(REPO / "collect-requirements.txt"))


def hook(extra: str) -> Callable[[str, Path], None]:
    def build(python: str, venv: Path) -> None:
        _run(python, "-m", "venv", str(venv))
        # As pre-commit installs a python hook's repository (a copy, so no build files land here).
        src = venv.parent / f"src-{venv.name}"
        shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info",
                                                                 "build", ".mypy_cache", ".pytest_cache"))
        _run(str(venv / "bin" / "python"), "-m", "pip", "install", *PIP, f"{src}{extra}")
        shutil.rmtree(src)
    return build


def size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(cases: dict[str, Callable[[str, Path], None]], *, python: str, runs: int) -> dict[str, dict[str, float]]:
    best: dict[str, float] = {}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="install-bench-") as tmp:
        for n in range(runs + 1):   # the first round warms the caches and is not counted
            for name, build in cases.items():
                venv = Path(tmp) / f"{len(best)}-{n}-{abs(hash(name))}"
                start = time.perf_counter()
                build(python, venv)
                took = time.perf_counter() - start
                if n:
                    best[name] = min(best.get(name, took), took)
                sizes[name] = size(venv)
                shutil.rmtree(venv)
    base = "full (action lock)"
    return {name: {"seconds": best[name], "mb": sizes[name] / 1e6, "time_ratio": best[name] / best[base],
                   "size_ratio": sizes[name] / sizes[base]} for name in cases}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None, allow_abbrev=False)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--python", default=sys.executable, help="the interpreter setup-python would give")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    cases: dict[str, Callable[[str, Path], None]] = {"full (action lock)": full_lock, "collect, pip": collect_pip}
    if shutil.which("uv"):
        cases["collect, uv"] = collect_uv
    cases["check hook (base)"] = hook("")
    cases["check hook before"] = hook("[full]")
    result = measure(cases, python=os.path.realpath(args.python), runs=args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'case':<20} {'seconds':>8} {'MB':>7} {'time/full':>10} {'size/full':>10}")
    for name, r in result.items():
        print(f"{name:<20} {r['seconds']:>8.2f} {r['mb']:>7.1f} {r['time_ratio']:>10.2f} {r['size_ratio']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
