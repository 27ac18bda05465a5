"""Sampled mutation testing: do the tests notice when the miner's decisions change?

Each mutant changes one decision in a module (a comparison, `and`/`or`, a `not`, an `if`'s
condition, `continue` → `break`, an integer constant), in a copy of the checkout; the given tests
run against it, and the mutant is killed when they fail. A random sample of all mutants is run
(seeded, so a run is reproducible); survivors are listed with their line.

    python3 benchmarks/mutate.py --sample 80 headroom_ci/mining/*.py headroom_ci/rules.py
    python3 benchmarks/mutate.py --tests tests/mining --sample 20 headroom_ci/mining/observe.py
"""
from __future__ import annotations

import argparse
import ast
import copy
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_SWAP: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                           ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                           ast.Is: ast.IsNot, ast.IsNot: ast.Is}
DEFAULT_TESTS = ("tests/mining", "tests/test_rules.py", "tests/sessions/test_kinds.py", "tests/test_quality_floor.py")


def mutants(tree: ast.Module) -> Iterator[tuple[int, str, ast.Module]]:
    """(line, what changed, the mutated tree) for every mutation point, in a stable order."""
    points = [n for n in ast.walk(tree) if isinstance(n, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If,
                                                            ast.Continue, ast.Constant))]
    for index, node in enumerate(points):
        if isinstance(node, ast.Constant) and (type(node.value) is not int or isinstance(node.value, bool)):
            continue
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            continue
        if isinstance(node, ast.Compare) and type(node.ops[0]) not in _SWAP:
            continue
        mutated = copy.deepcopy(tree)
        target = [n for n in ast.walk(mutated) if isinstance(n, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If,
                                                                 ast.Continue, ast.Constant))][index]
        what = _apply(target, mutated)
        if what:
            yield node.lineno, what, mutated


def _apply(node: ast.AST, tree: ast.Module) -> str | None:
    if isinstance(node, ast.Compare):
        old = node.ops[0]
        node.ops[0] = _SWAP[type(old)]()
        return f"{type(old).__name__} -> {type(node.ops[0]).__name__}"
    if isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return "and <-> or"
    if isinstance(node, ast.If):
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        return "if c -> if not c"
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        node.value = node.value + 1
        return f"{node.value - 1} -> {node.value}"
    if isinstance(node, ast.UnaryOp):
        for parent in ast.walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is node:
                    setattr(parent, field, node.operand)
                    return "not c -> c"
                if isinstance(value, list) and node in value:
                    value[value.index(node)] = node.operand
                    return "not c -> c"
        return None
    if isinstance(node, ast.Continue):
        for parent in ast.walk(tree):
            for value in ast.iter_fields(parent):
                body = value[1]
                if isinstance(body, list) and node in body:
                    body[body.index(node)] = ast.Break()
                    return "continue -> break"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Sampled mutation testing of some modules.")
    p.add_argument("modules", nargs="+", help="module files, relative to the checkout")
    p.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS))
    p.add_argument("--sample", type=int, default=60, help="mutants to run, over all modules")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    pool = []
    for module in args.modules:
        source = (_REPO / module).read_text(encoding="utf-8")
        for line, what, tree in mutants(ast.parse(source)):
            pool.append((module, line, what, tree))
    rng = random.Random(args.seed)
    chosen = rng.sample(pool, min(args.sample, len(pool)))
    survivors = []
    with tempfile.TemporaryDirectory(prefix="headroom-mutants-") as tmp:
        work = Path(tmp)
        for folder in ("headroom_ci", "tests", "testing", "benchmarks", "examples"):
            shutil.copytree(_REPO / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml",):
            shutil.copy(_REPO / name, work / name)
        for n, (module, line, what, tree) in enumerate(chosen, 1):
            original = (work / module).read_text(encoding="utf-8")
            (work / module).write_text(ast.unparse(tree) + "\n", encoding="utf-8")
            try:
                run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                      *args.tests], cwd=work, capture_output=True, text=True, timeout=600)
                killed = run.returncode != 0
            except subprocess.TimeoutExpired:
                killed = True
            finally:
                (work / module).write_text(original, encoding="utf-8")
            if not killed:
                survivors.append(f"{module}:{line}: {what}")
            print(f"[{n}/{len(chosen)}] {'killed ' if killed else 'SURVIVED'} {module}:{line}: {what}", flush=True)
    killed_n = len(chosen) - len(survivors)
    print(f"\n{killed_n}/{len(chosen)} mutants killed ({killed_n / max(len(chosen), 1):.0%}) of {len(pool)} in all")
    for s in survivors:
        print(f"  survived: {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
