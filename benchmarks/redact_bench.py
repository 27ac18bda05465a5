"""Throughput of redaction over transcript text, and how many planted secrets it finds.

Builds a synthetic corpus (benchmarks/corpus.py: Claude Code and Codex JSONL, with tool outputs,
code, logs), plants secrets of every kind the table knows inside JSON string fields of some
lines (so they sit JSON-escaped, after `\\n`, inside quotes, as in real transcripts), then
times, on the same lines in the same run:

  str.count     `line.count("ghp_")` per line: a memory-speed floor
  re.search     one simple literal-prefixed pattern per line: the cheapest regex pass
  json.loads    parsing each line: what reading a transcript costs anyway
  redact        headroom_ci.safety.redact.redact per line (the built-in table), and per whole file
  configured    a Redactor with 200 config literals and a CI environment's secret values

and reports MB/s (10^6 bytes of UTF-8 text over the best of --repeat runs) and, per
configuration, the redactions found against the secrets planted (a planted secret is missed
when its value is still in the output).

    python benchmarks/redact_bench.py                   # 100 MB corpus in a temp dir
    python benchmarks/redact_bench.py --size-mb 20 --repeat 5 --json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
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
from benchmarks.corpus import transcript_files  # noqa: E402
from headroom_ci.safety.redact import redact  # noqa: E402
from headroom_ci.safety.redact import Redactor  # noqa: E402

MB = 1_000_000
PLANT_EVERY = 40       # one line in this many gets a secret
LITERALS = 200
_B62 = string.ascii_letters + string.digits
_B64 = _B62 + "+/"


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class Secret:
    kind: str          # what the redactor should call it
    context: str       # the text planted, holding `value`
    value: str


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _mixed(rng: random.Random, n: int) -> str:
    """Random base62 that has a digit and a capital, as real keys do."""
    return rng.choice(string.ascii_uppercase) + rng.choice(string.digits) + _r(rng, _B62, n - 2)


def _pem(rng: random.Random) -> str:
    lines = [_r(rng, _B64, 64) for _ in range(rng.randint(6, 25))] + [_r(rng, _B64, 20) + "=="]
    label = rng.choice(["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "])
    return f"-----BEGIN {label}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {label}PRIVATE KEY-----"


def _one(kind: str, template: str, value: str) -> list[Secret]:
    return [Secret(kind, template.format(v=value), value)]


def _choice(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


# Each maker returns what is planted: one or more secrets in their usual surroundings.
Maker = Callable[[random.Random], list[Secret]]
MAKERS: dict[str, Maker] = {
    "github-token": lambda r: _one("github-token", "export GH_TOKEN={v}\n",
                                   _choice(r, ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + _r(r, _B62, 36)),
    "github-fine-grained": lambda r: _one("github-token", "token: {v}",
                                          "github_pat_" + _r(r, _B62, 22) + "_" + _r(r, _B62, 59)),
    "aws": lambda r: (_one("aws-access-key-id", "[default]\naws_access_key_id = {v}\n",
                           "AKIA" + _r(r, string.ascii_uppercase + "234567", 16))
                      + _one("aws-secret-key", "aws_secret_access_key = {v}\n", _r(r, _B64, 40))),
    "google-api-key": lambda r: _one("google-api-key", "GET /maps?key={v}&q=x", "AIza" + _r(r, _B62 + "_-", 35)),
    "anthropic-key": lambda r: _one("anthropic-key", "ANTHROPIC_API_KEY={v}",
                                    "sk-ant-api03-" + _r(r, _B62 + "_-", 93) + "AA"),
    "openai-key": lambda r: _one("openai-key", 'OPENAI_API_KEY="{v}"', "sk-proj-" + _mixed(r, 120)),
    "slack-token": lambda r: _one("slack-token", "SLACK_BOT_TOKEN={v}",
                                  f"xoxb-{_r(r, string.digits, 12)}-{_r(r, string.digits, 13)}-{_r(r, _B62, 24)}"),
    "slack-webhook": lambda r: _one(
        "slack-webhook", "curl -X POST https://hooks.slack.com/services/{v} -d @msg.json",
        f"T{_r(r, string.ascii_uppercase, 8)}/B{_r(r, string.ascii_uppercase, 8)}/{_r(r, _B62, 24)}"),
    "stripe-key": lambda r: _one("stripe-key", "stripe.api_key = '{v}'", "sk_live_" + _r(r, _B62, 24)),
    "twilio-sid": lambda r: _one("twilio-sid", "client = Client('{v}', auth)", "AC" + _r(r, "0123456789abcdef", 32)),
    "sendgrid-key": lambda r: _one("sendgrid-key", "SENDGRID_API_KEY={v}",
                                   "SG." + _r(r, _B62 + "_-", 22) + "." + _r(r, _B62 + "_-", 43)),
    "npm-token": lambda r: _one("npm-token", "//registry.npmjs.org/:_authToken={v}", "npm_" + _r(r, _B62, 36)),
    "pypi-token": lambda r: _one("pypi-token", "password = {v}", "pypi-AgEIcHlwaS5vcmc" + _r(r, _B62 + "_-", 150)),
    "jwt": lambda r: _one("jwt", "cookie: session={v}",
                          "eyJ" + _r(r, _B62, 30) + ".eyJ" + _r(r, _B62, 60) + "." + _r(r, _B62 + "_-", 43)),
    "private-key": lambda r: _one("private-key", "$ cat deploy_key\n{v}\n", _pem(r)),
    "url-credentials": lambda r: _one("url-credentials", "DATABASE_URL=postgres://app:{v}@db.internal:5432/app",
                                      _mixed(r, 20)),
    "bearer-token": lambda r: _one("bearer-token", "curl -H 'Authorization: Bearer {v}' https://api.acme.dev/v1",
                                   _mixed(r, 40)),
    "secret-assignment": lambda r: _one("secret-assignment", "DB_PASSWORD={v}\n", _mixed(r, 18)),
    "azure-storage-key": lambda r: _one(
        "azure-storage-key", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={v};EndpointSuffix=core.windows.net",
        _r(r, _B64, 86) + "=="),
}


@dataclass
class Config:
    """What a configured Redactor knows: literals from the config file, a CI environment."""
    literals: list[str]
    env: dict[str, str]

    @staticmethod
    def make(rng: random.Random) -> Config:
        literals = [f"{_r(rng, string.ascii_lowercase, 4)}-{_mixed(rng, rng.randint(12, 40))}" for _ in range(LITERALS)]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/runner", "RUNNER_OS": "Linux",
               "GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": _r(rng, "0123456789abcdef", 40),
               "SSH_AUTH_SOCK": "/tmp/ssh-XXXX/agent.1234", "CI": "true", "MAX_TOKENS": "4096"}
        for name in ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "NPM_TOKEN",
                     "DB_PASSWORD", "DEPLOY_KEY", "SENTRY_AUTH_TOKEN", "CODECOV_TOKEN", "DOCKER_PASSWORD",
                     "SESSION_SECRET"):
            env[name] = f"{_r(rng, string.ascii_lowercase, 3)}.{_mixed(rng, 32)}"
        return Config(literals, env)

    def secrets(self, rng: random.Random) -> list[Secret]:
        if rng.random() < 0.5:
            v = _choice(rng, self.literals)
            return [Secret("literal", f"config value {v} loaded", v)]
        name = _choice(rng, sorted(n for n in self.env if n.endswith(("TOKEN", "PASSWORD", "KEY", "SECRET"))))
        return [Secret(f"env:{name}", f"{name.lower()}: {self.env[name]}", self.env[name])]


# --------------------------------------------------------------------------- planting


@dataclass
class Planted:
    builtin: list[Secret] = field(default_factory=list)     # the table alone must find these
    configured: list[Secret] = field(default_factory=list)  # only with literals and env


def plant(lines: list[str], config: Config, seed: int) -> Planted:
    """Insert secrets into string fields of every PLANT_EVERY-th JSON line, in place."""
    rng = random.Random(seed)
    planted = Planted()
    kinds = sorted(MAKERS)
    for i in range(PLANT_EVERY // 2, len(lines), PLANT_EVERY):
        try:
            record = json.loads(lines[i])
        except ValueError:
            continue
        configured = i // PLANT_EVERY % 5 == 4
        secrets = config.secrets(rng) if configured else MAKERS[kinds[i // PLANT_EVERY % len(kinds)]](rng)
        context = "".join(s.context for s in secrets)
        if not _insert(record, context, rng):
            continue
        end = "\n" if lines[i].endswith("\n") else ""
        lines[i] = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + end
        (planted.configured if configured else planted.builtin).extend(secrets)
    return planted


def _insert(record: Any, context: str, rng: random.Random) -> bool:
    """Put `context` at a line boundary of the longest string in `record`."""
    best: tuple[int, Any, Any] | None = None
    stack: list[Any] = [record]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                if best is None or len(value) > best[0]:
                    best = (len(value), node, key)
            elif isinstance(value, (dict, list)):
                stack.append(value)
    if best is None:
        return False
    _, node, key = best
    text: str = node[key]
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    at = starts[rng.randrange(len(starts))]
    node[key] = text[:at] + context + ("" if context.endswith("\n") else "\n") + text[at:]
    return True


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    name: str
    what: str
    best: float = float("inf")
    found: int | None = None
    planted: int | None = None
    missed: int | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    def mb_per_s(self, size: int) -> float:
        return size / MB / self.best


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(lines: list[str], files: list[str], planted: Planted, config: Config, repeat: int) -> list[Row]:
    simple = re.compile(r"ghp_[A-Za-z0-9]{36}")
    configured = Redactor.from_config(literals=config.literals, env=config.env)

    def redact_lines(r: Redactor) -> Callable[[], tuple[list[str], Counter[str]]]:
        def run() -> tuple[list[str], Counter[str]]:
            counts: Counter[str] = Counter()
            return [r.redact(line, counts) for line in lines], counts
        return run

    rows = [
        (Row("str.count", 'line.count("ghp_") per line'), lambda: sum(line.count("ghp_") for line in lines)),
        (Row("re.search", r"re ghp_[A-Za-z0-9]{36} .search per line"), lambda: sum(1 for line in lines if simple.search(line))),
        (Row("json.loads", "json.loads per line"), lambda: sum(1 for line in lines if json.loads(line))),
        (Row("redact", "redact() per line, built-in table"), redact_lines(Redactor())),
        (Row("redact (files)", "redact() per whole file, built-in table"), lambda: [redact(text) for text in files]),
        (Row("configured", f"Redactor.from_config({LITERALS} literals, env with "
                           f"{len(configured.literals) - LITERALS} secret values) per line"), redact_lines(configured)),
    ]
    out: list[Row] = []
    for row, fn in rows:
        row.best, result = _time(fn, repeat)
        if row.name in ("redact", "configured"):
            texts, counts = result
            expected = planted.builtin + (planted.configured if row.name == "configured" else [])
            joined = "".join(texts)
            row.found = sum(counts.values())
            row.planted = len(expected)
            row.missed = sum(1 for s in expected if s.value in joined)
            row.by_kind = dict(sorted(counts.items()))
        out.append(row)
    return out


# --------------------------------------------------------------------------- main


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size-mb", type=float, default=100, help="corpus size in MB (10^6 bytes); default 100")
    p.add_argument("--out", type=Path, help="keep the corpus in DIR (reused when size and seed match)")
    p.add_argument("--seed", type=int, default=1, help="corpus and planting seed; default 1")
    p.add_argument("--repeat", type=int, default=3, help="runs per row, best reported; default 3")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    if args.repeat < 1 or args.size_mb <= 0:
        print("--repeat and --size-mb must be positive", file=sys.stderr)
        return 2
    if args.out is not None:
        return _bench(args, args.out)
    with tempfile.TemporaryDirectory(prefix="headroom-redact-bench-") as tmp:
        return _bench(args, Path(tmp))


def _bench(args: argparse.Namespace, root: Path) -> int:
    start = time.perf_counter()
    corpus = build_corpus(root, size_mb=args.size_mb, seed=args.seed)
    paths = transcript_files(corpus.dirs())
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    config = Config.make(random.Random(args.seed))
    lines = [line for text in texts for line in text.splitlines(keepends=True)]
    planted = plant(lines, config, args.seed)
    # The per-file rows read the planted lines too, regrouped into files of the same sizes.
    files, i = [], 0
    for text in texts:
        n = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        files.append("".join(lines[i:i + n]))
        i += n
    size = sum(len(line.encode("utf-8")) for line in lines)
    print(f"corpus ready in {root} ({time.perf_counter() - start:.1f} s): {size / MB:.1f} MB, {len(lines):,} lines, "
          f"{len(paths)} files; {len(planted.builtin)} + {len(planted.configured)} secrets planted", file=sys.stderr)
    rows = measure(lines, files, planted, config, args.repeat)
    floor = next(r for r in rows if r.name == "re.search")
    if args.json:
        print(json.dumps({
            "bytes": size, "lines": len(lines), "files": len(paths), "repeat": args.repeat,
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "rows": [{"name": r.name, "what": r.what, "best_seconds": r.best, "mb_per_s": r.mb_per_s(size),
                      "found": r.found, "planted": r.planted, "missed": r.missed, "by_kind": r.by_kind} for r in rows],
        }, indent=2))
    else:
        print(f"{size / MB:.1f} MB of transcript JSONL, {len(lines):,} lines in {len(paths)} files; best of "
              f"{args.repeat}; Python {platform.python_version()}, {os.cpu_count()} CPUs\n")
        print(f"{'':16} {'MB/s':>8} {'vs re':>6}  {'found':>6} {'planted':>8} {'missed':>7}  what")
        for r in rows:
            counts = (f"{r.found:>6} {r.planted:>8} {r.missed:>7}" if r.found is not None else f"{'':>6} {'':>8} {'':>7}")
            print(f"{r.name:16} {r.mb_per_s(size):8.1f} {floor.best / r.best:6.2f}  {counts}  {r.what}")
        configured = next(r for r in rows if r.name == "configured")
        print("\nfound by kind (configured):", ", ".join(f"{k} {n}" for k, n in configured.by_kind.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
