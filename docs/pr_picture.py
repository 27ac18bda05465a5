"""The README's picture of a pull request: headroom-ci's own description, made and rendered here.

1. `headroom-ci run` on the README's example sessions (examples/sessions, as three CI runs'
   artifacts) against the project's fake GitHub and a throwaway git repository: the pull request
   it opens is the real thing, made by the same code as on github.com.
2. Its description is written to docs/pr-description.md (a test keeps that file equal to what
   the code makes now, so a change to the description fails until this script is run again).
3. With `--png`, the markdown is rendered to HTML (markdown-it-py, GitHub's light styles) and
   photographed by headless Chromium (Debian's `chromium` package) into docs/pr-description.png.

    python docs/pr_picture.py            # the markdown only
    python docs/pr_picture.py --png      # and the picture (needs markdown-it-py and chromium)
"""
from __future__ import annotations

import argparse
import html
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from headroom_ci.main import _parser  # noqa: E402
from headroom_ci.commands import run as run_cmd  # noqa: E402
from testing.examples import add_example_runs  # noqa: E402
from testing.examples import example_repo  # noqa: E402
from testing.fake_github import actions as fake_actions  # noqa: E402
from testing.fake_github import FakeGitHub  # noqa: E402
from testing.fake_github import pulls as fake_pulls  # noqa: E402
from testing.fake_github import TOKEN  # noqa: E402
from testing.gitrepo import isolated_env  # noqa: E402
from testing.gitrepo import make_repo  # noqa: E402

MARKDOWN = REPO / "docs" / "pr-description.md"
PICTURE = REPO / "docs" / "pr-description.png"
SIZE = (1000, 2000)   # the top of the description: the summary, the rules and the first evidence


def description() -> str:
    """The description `headroom-ci run` gives the pull request it opens for the example sessions."""
    with tempfile.TemporaryDirectory(prefix="pr-picture-") as tmp:
        root = Path(tmp)
        saved = dict(os.environ)
        try:
            os.environ.update(isolated_env(root / "home"))
            os.environ["SOURCE_DATE_EPOCH"] = "1795219200"   # 2026-11-21: the block's date
            repo = make_repo(root / "git", example_repo())
            with FakeGitHub() as gh:
                fake_pulls.use_bare(gh, repo.bare)
                state = fake_actions.of(gh)
                add_example_runs(state, state.add_workflow("agent.yml"),
                                 [f"2026-11-{10 + day:02d}T09:00:00Z" for day in (1, 2, 3)])
                env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": gh.api_url,
                       "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "9001",
                       "RUNNER_TEMP": str(root / "runner")}
                args = _parser().parse_args(["run", "--repo-path", str(repo.work), "--since", "2026-11-01",
                                             "--workflow", "agent.yml"])
                if run_cmd.run(args, out=io.StringIO(), env=env) != 0:
                    raise SystemExit("headroom-ci run failed")
                return str(fake_pulls.pulls(gh)[0]["body"])
        finally:
            os.environ.clear()
            os.environ.update(saved)


_STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 0; background: #fff; }
.frame { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e;
        border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.body { padding: 16px 24px; }
h3 { font-size: 1.25em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 24px 0 16px; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font: 85% ui-monospace, monospace; }
pre { background: #f6f8fa; border-radius: 6px; padding: 12px 16px; font: 85% ui-monospace, monospace;
      white-space: pre-wrap; }
a { color: #0969da; text-decoration: none; }
details summary { cursor: pointer; }
sub { color: #59636e; }
"""


def to_html(markdown: str, *, title: str) -> str:
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        raise SystemExit("--png needs markdown-it-py: pip install -e '.[docs]' (and apt-get install chromium)") from None
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    # GitHub shows the first rule's evidence opened for this picture; the others stay folded.
    shown = markdown.replace("<details>", "<details open>", 1)
    return (f"<!doctype html><meta charset=utf-8><style>{_STYLE}</style><div class=frame>"
            f"<div class=head><b>github-actions[bot]</b> commented · {html.escape(title)}</div>"
            f"<div class=body>{md.render(shown)}</div></div>")


def photograph(page: str, dest: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium (or pass --markdown-only)")
    with tempfile.TemporaryDirectory(prefix="pr-picture-") as tmp:
        source = Path(tmp) / "pr.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp}/profile", f"--window-size={SIZE[0]},{SIZE[1]}",
                        f"--screenshot={dest}", source.as_uri()], check=True, capture_output=True, timeout=120)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None, allow_abbrev=False)
    p.add_argument("--png", action="store_true", help="also render docs/pr-description.png")
    args = p.parse_args(argv)
    text = description()
    MARKDOWN.write_text(text, encoding="utf-8", newline="")
    print(f"wrote {MARKDOWN.relative_to(REPO)}")
    if args.png:
        photograph(to_html(text, title="headroom-ci: add 4 rules in AGENTS.md"), PICTURE)
        print(f"wrote {PICTURE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
