"""How big the LLM analyzer's digest gets, and how much of what was mined it covers, as the
number of sessions grows; next to a per-session listing like headroom-ai's.

For each size it mines two corpora with the real pipeline (`commands.learn.mine` →
`Miner.findings`):

- `labeled`: benchmarks/labeled.py's CI history of one repository (Claude, Codex and Gemini
  transcripts written to disk and read with `iter_paths`): 60 planted learnings and 29 traps,
  each in a handful of sessions whatever the size, among successful calls;
- `dense`: sessions of 30 calls built in memory (testing/builders.py), each hitting 3 of 120
  recurring failures (a tool off PATH, a file at another path, a missing npm script) and their
  fixes: failures grow with the sessions, as in a busy repository.

It builds the digest
(`headroom_ci.llm.digest.build`, the example repository's AGENTS.md as the context file) and
reports its tokens and coverage (findings in the digest / findings mined). In the same pass it
measures what a listing session by session would take, the way headroom-ai's `_build_digest`
lists tool calls (a header per session, one line per call: name, input, OK with the output size
or ERROR with the start of the output), both with every call and with failed calls only, and
how many sessions fit before headroom-ai's 80,000-token cap. Tokens are estimated as 4
characters each, as both tools do.

    python3 benchmarks/digest_bench.py                        # 100, 300, 1,000, 3,000 sessions
    python3 benchmarks/digest_bench.py --sizes 1000 --json
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Iterator
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

from benchmarks.labeled import build  # noqa: E402
from headroom_ci.commands.learn import mine  # noqa: E402
from headroom_ci.llm.digest import build as build_digest  # noqa: E402
from headroom_ci.mining.findings import Thresholds  # noqa: E402
from headroom_ci.learning.propose import TargetFile  # noqa: E402
from headroom_ci.sessions.load import iter_paths  # noqa: E402
from headroom_ci.sessions.model import Session  # noqa: E402
from headroom_ci.sessions.model import ToolCall  # noqa: E402
from testing.builders import bash  # noqa: E402
from testing.builders import fail  # noqa: E402
from testing.builders import ok  # noqa: E402
from testing.builders import ROOT  # noqa: E402
from testing.builders import session  # noqa: E402
from testing.builders import Spec  # noqa: E402

HEADROOM_CAP = 80_000  # headroom-ai's _MAX_DIGEST_TOKENS
AGENTS = _REPO / "examples" / "repo" / "AGENTS.md"


def _input_summary(call: ToolCall) -> str:
    for key in ("command", "cmd", "file_path", "path", "pattern"):
        value = call.input.get(key)
        if isinstance(value, str):
            return value
    return json.dumps(dict(call.input), default=str)


def _call_line(call: ToolCall) -> str:
    # headroom-ai's _format_tool_call.
    if call.is_error:
        preview = call.output[:200].replace("\n", " ").strip()
        return f"  [{call.index}] {call.name}: {_input_summary(call)[:120]} → ERROR({call.error_category}): {preview}"
    size = f"({call.output_size} bytes)" if call.output_size > 0 else ""
    return f"  [{call.index}] {call.name}: {_input_summary(call)[:120]} → OK {size}"


def _session_chars(session: Session, *, failed_only: bool) -> int:
    calls = [c for c in session.tool_calls if c.is_error or not failed_only]
    header = (f"=== Session {(session.session_id or session.path)[:12]} ({len(session.tool_calls)} calls, "
              f"{session.errors} failures, {session.usage.input:,} input tokens) ===")
    # headroom-ai counts the characters of its lines (not the line breaks) against 4 × the cap.
    return len(header) + sum(len(_call_line(c)) for c in calls)


@dataclass
class Listing:
    """A per-session listing's running size, and how many whole sessions fit under the cap."""
    chars: int = 0
    within_cap: int = 0

    def add(self, chars: int) -> None:
        self.chars += chars
        if self.chars <= HEADROOM_CAP * 4:
            self.within_cap += 1

    @property
    def tokens(self) -> int:
        return -(-self.chars // 4)


@dataclass
class Row:
    corpus: str
    sessions: int
    tool_calls: int
    failed_calls: int
    findings: int
    digest_tokens: int
    in_digest: int
    coverage: float
    without_examples: int
    digest_ms: float
    listing_tokens: int
    listing_sessions_within_cap: int
    failed_listing_tokens: int
    failed_listing_sessions_within_cap: int


DENSE_PATTERNS = 120
DENSE_CALLS = 30


def _dense_steps(i: int, name: str) -> list[Spec]:
    if i % 3 == 0:
        return [bash(f"lint{name} --check src/", f"bash: line 1: lint{name}: command not found", code=127),
                bash(f"uv run lint{name} --check src/", "All checks passed!")]
    if i % 3 == 1:
        return [fail("Read", "<tool_use_error>File does not exist.</tool_use_error>",
                     file_path=f"{ROOT}/src/{name}/models.py"),
                ok("Glob", f"{ROOT}/src/{name}/app/models.py", pattern=f"**/{name}/**/models.py"),
                ok("Read", "1\tclass Model: ...", file_path=f"{ROOT}/src/{name}/app/models.py")]
    return [bash(f"npm run test-{name}", f'npm error Missing script: "test-{name}"', code=1),
            bash(f"npm run test:{name}", "Tests  4 passed (4)")]


def dense(n: int, *, seed: int) -> Iterator[Session]:
    rng = random.Random(seed)
    # Letters only: the miner folds digits when it clusters commands.
    names = [f"{chr(97 + i // 26 % 26)}{chr(97 + i % 26)}" for i in range(DENSE_PATTERNS)]
    for s in range(n):
        specs: list[Spec] = []
        for i in rng.sample(range(DENSE_PATTERNS), 3):
            specs += _dense_steps(i, names[i])
        while len(specs) < DENSE_CALLS:
            specs.append(ok("Read", "1\tline\n" * 20, file_path=f"{ROOT}/src/file{rng.randrange(1000)}.py"))
        yield session(*specs, sid=f"{s:08d}-dense", run=f"r{s % max(2, n // 10)}")


def labeled(root: Path, n: int, *, seed: int) -> Iterator[object]:
    labels = build(root, seed=seed, sessions=n, runs=max(2, n // 10))
    return iter_paths(labels.run_dirs)


def measure(corpus: str, items: Iterable[object], *, budget: int) -> Row:
    every, failed = Listing(), Listing()

    def tee() -> Iterator[object]:
        for item in items:
            if isinstance(item, Session):
                every.add(_session_chars(item, failed_only=False))
                failed.add(_session_chars(item, failed_only=True))
            yield item

    miner, _ = mine(tee(), repo_path=None)
    findings = miner.findings(Thresholds())
    start = time.perf_counter()
    digest = build_digest(findings, miner.stats(), budget=budget,
                          targets={"context": TargetFile("AGENTS.md", AGENTS.read_text())})
    ms = (time.perf_counter() - start) * 1000
    stats = miner.stats()
    return Row(corpus, stats.sessions, stats.tool_calls, stats.failures, len(findings), digest.tokens,
               len(digest.finding_ids), digest.coverage, digest.without_examples, round(ms, 1),
               every.tokens, every.within_cap, failed.tokens, failed.within_cap)


def table(rows: Sequence[Row], budget: int) -> str:
    head = ["corpus", "sessions", "tool calls", "failed", "findings", f"digest tokens (budget {budget:,})", "coverage",
            "ms", "per-session listing, all calls", "sessions ≤ 80k", "failed calls only", "sessions ≤ 80k"]
    out = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [r.corpus, f"{r.sessions:,}", f"{r.tool_calls:,}", f"{r.failed_calls:,}", f"{r.findings}",
                 f"{r.digest_tokens:,}", f"{r.in_digest}/{r.findings} ({r.coverage:.0%})", f"{r.digest_ms:.1f}",
                 f"{r.listing_tokens:,}", f"{r.listing_sessions_within_cap:,}", f"{r.failed_listing_tokens:,}",
                 f"{r.failed_listing_sessions_within_cap:,}"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Digest tokens and coverage against the number of sessions.")
    p.add_argument("--sizes", default="100,300,1000,3000", help="session counts, comma-separated")
    p.add_argument("--corpus", choices=("labeled", "dense", "both"), default="both")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--budget", type=int, default=8000, help="the digest's token budget")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="headroom-digest-") as tmp:
        for corpus in ("labeled", "dense") if args.corpus == "both" else (args.corpus,):
            for n in sizes:
                items = labeled(Path(tmp) / f"n{n}", n, seed=args.seed) if corpus == "labeled" else \
                    dense(n, seed=args.seed)
                rows.append(measure(corpus, items, budget=args.budget))
    if args.json:
        doc: dict[str, Any] = {"seed": args.seed, "budget": args.budget, "headroom_cap": HEADROOM_CAP,
                               "rows": [asdict(r) for r in rows]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(table(rows, args.budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
