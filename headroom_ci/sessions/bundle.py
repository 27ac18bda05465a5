"""The collect bundle's manifest: which CI run the sessions beside it came from (pure)."""
from __future__ import annotations

from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.model import Run

MANIFEST = "manifest.json"
FORMAT = "headroom-ci-bundle"
VERSION = 1
# Beside the manifest: the normalized sessions, and (collect --raw) the redacted originals.
# Readers skip a bundle's raw/ folder: it holds the same sessions again.
SESSIONS_DIR = "sessions"
RAW_DIR = "raw"


def is_bundle(doc: Any) -> bool:
    return as_dict(doc).get("format") == FORMAT


def run_of(manifest: Any) -> Run | None:
    """The run a bundle manifest names, or None when it is not one of ours or names no run."""
    if not is_bundle(manifest):
        return None
    doc = as_dict(manifest)
    run = as_dict(doc.get("run"))
    run_id = run.get("id")
    if isinstance(run_id, int) and not isinstance(run_id, bool):
        run_id = str(run_id)
    if not isinstance(run_id, str) or not run_id:
        return None
    attempt = run.get("attempt")
    return Run(
        id=run_id,
        attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None,
        url=as_str(run.get("url")), workflow=as_str(run.get("workflow")), branch=as_str(run.get("branch")),
        sha=as_str(run.get("sha")), created_at=as_str(run.get("created_at")),
    )


def manifest(*, repository: str | None, run: Run | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "repository": repository}
    if run is not None:
        doc["run"] = {k: v for k, v in (("id", run.id), ("attempt", run.attempt), ("url", run.url),
                                         ("workflow", run.workflow), ("branch", run.branch), ("sha", run.sha),
                                         ("created_at", run.created_at)) if v is not None}
    doc.update(extra or {})
    return doc
