"""A local stand-in for the GitHub REST API, reached through PyGithub's own `base_url`.

It follows the documented behaviour the project depends on: token auth, pagination with
`Link` headers, 404 for what does not exist, repository names in any case, and failures injected
on demand: `rate_limit()` answers as GitHub does over a primary or secondary limit (403 or 429,
with or without `retry-after` / `x-ratelimit-reset`), and `fail(..., after=True)` fails a request
after it took effect, as a 5xx from GitHub can. Artifact zips are served from a second host
(`localhost` instead of `127.0.0.1`) that, like blob storage, refuses an Authorization header.
Route handlers live beside this module (`actions.py`, `pulls.py`) and register themselves.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

TOKEN = "ghs_fakeTokenForTests0123456789"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    host: str  # "api" or "blob"
    match: re.Match[str] | None = None


@dataclass
class Response:
    status: int = 200
    body: Any = None            # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["FakeGitHub", Request], Response]


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int
    after: bool = False     # the request takes effect first, then fails


class FakeGitHub:
    """`with FakeGitHub() as gh:` starts both hosts; `gh.api_url` goes to PyGithub's base_url."""

    routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def __init__(self, *, owner: str = "acme", name: str = "shop", token: str = TOKEN, per_page_max: int = 100) -> None:
        self.owner, self.name, self.token = owner, name, token
        self.full_name = f"{owner}/{name}"
        self.per_page_max = per_page_max
        self.log: list[Request] = []
        self.failures: list[Failure] = []
        self.state: dict[str, Any] = {}
        self.lock = threading.RLock()
        self._servers: list[ThreadingHTTPServer] = []

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FakeGitHub:
        self.api = self._serve("127.0.0.1", "api")
        self.blob = self._serve("localhost", "blob")
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    @property
    def blob_url(self) -> str:
        return f"http://localhost:{self.blob.server_address[1]}"

    def _serve(self, host: str, role: str) -> ThreadingHTTPServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                fake._dispatch(self, role)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        server = ThreadingHTTPServer((host if host != "localhost" else "127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(server)
        return server

    # -- test controls -----------------------------------------------------------------
    def reset(self) -> FakeGitHub:
        """Empty state, log and injected failures: one server can serve a module's tests."""
        with self.lock:
            self.state.clear()
            self.log.clear()
            self.failures.clear()
        return self

    def fail(self, method: str, path: str, *, status: int, body: Any = None, headers: dict[str, str] | None = None,
             times: int = 1, after: bool = False) -> None:
        """The next `times` requests matching `method` and the `path` regex get this answer;
        `after`: each is carried out first (GitHub can fail a request that took effect)."""
        self.failures.append(Failure(method, re.compile(path), status, body or {"message": "injected"},
                                     headers or {}, times, after))

    def rate_limit(self, method: str, path: str, *, kind: str, status: int = 403, retry_after: str | None = None,
                   reset: int | None = None, times: int = 1) -> None:
        """GitHub's answers to a request over a rate limit ("Rate limits for the REST API"): 403 or
        429; a primary limit has x-ratelimit-remaining 0 and x-ratelimit-reset (epoch seconds); a
        secondary limit says so in its message, with retry-after or not, and x-ratelimit-reset only
        when remaining is 0."""
        assert kind in ("primary", "secondary") and status in (403, 429)
        docs = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
        if kind == "primary":
            body = {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": docs}
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
                       "x-ratelimit-resource": "core", "x-ratelimit-reset": str(reset if reset is not None else 0)}
        else:
            body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                               "again.", "documentation_url": f"{docs}#about-secondary-rate-limits"}
            remaining = "0" if reset is not None else "4990"
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": remaining, "x-ratelimit-used": "10",
                       "x-ratelimit-resource": "core"}
            if reset is not None:
                headers["x-ratelimit-reset"] = str(reset)
        if retry_after is not None:
            headers["retry-after"] = retry_after
        self.fail(method, path, status=status, body=body, headers=headers, times=times)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.log if (method is None or r.method == method)
                and (path is None or re.search(path, r.path))]

    # -- plumbing ----------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler, role: str) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        req = Request(h.command, url.path, {k: v[-1] for k, v in parse_qs(url.query).items()},
                      {k.lower(): v for k, v in h.headers.items()}, body, role)
        with self.lock:
            self.log.append(req)
            resp = self._answer(req)
        data = resp.body if isinstance(resp.body, bytes) else (
            b"" if resp.body is None and resp.status in (204, 302) else json.dumps(resp.body).encode())
        h.send_response(resp.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **resp.headers}
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _answer(self, req: Request) -> Response:
        for failure in self.failures:
            if failure.times > 0 and failure.method == req.method and failure.path.search(req.path):
                failure.times -= 1
                if failure.after:
                    self._route(req)
                return Response(failure.status, failure.body, failure.headers)
        return self._route(req)

    def _route(self, req: Request) -> Response:
        if req.host == "api" and req.headers.get("authorization") not in (f"token {self.token}", f"Bearer {self.token}"):
            return Response(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(req.path)
            if m and method == req.method and (req.host == "blob") == pattern.pattern.startswith("/blob/"):
                req.match = m
                return handler(self, req)
        return Response(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def page(self, req: Request, items: list[Any], *, key: str | None = None,
             extra: dict[str, Any] | None = None) -> Response:
        """One page of `items` with the `Link` header GitHub sends (next, last, first, prev)."""
        per_page = min(int(req.query.get("per_page", 30)), self.per_page_max)
        page = max(int(req.query.get("page", 1)), 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def url(n: int) -> str:
            query = "&".join(f"{k}={v}" for k, v in {**req.query, "page": str(n)}.items())
            return f'<{self.api_url}{req.path}?{query}>'

        if page < last:
            links += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
        if page > 1:
            links += [f'{url(1)}; rel="first"', f'{url(page - 1)}; rel="prev"']
        body: Any = chunk if key is None else {"total_count": len(items), key: chunk, **(extra or {})}
        return Response(200, body, {"Link": ", ".join(links)} if links else {})

    def repo_json(self) -> dict[str, Any]:
        return {"id": 1, "name": self.name, "full_name": self.full_name, "private": False,
                "owner": {"login": self.owner, "id": 1, "type": "Organization"},
                "default_branch": self.state.get("default_branch", "main"),
                "url": f"{self.api_url}/repos/{self.full_name}",
                "html_url": f"https://github.com/{self.full_name}"}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Registers a handler; `{owner}/{repo}` in paths is the fake's repository."""
    def register(fn: Handler) -> Handler:
        FakeGitHub.routes.append((method, re.compile(path), fn))
        return fn
    return register


@route("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)")
def _get_repo(gh: FakeGitHub, req: Request) -> Response:
    assert req.match is not None
    if f"{req.match['owner']}/{req.match['repo']}".lower() != gh.full_name.lower():  # names ignore case
        return Response(404, {"message": "Not Found"})
    return Response(200, gh.repo_json())


@route("GET", r"/rate_limit")
def _rate_limit(gh: FakeGitHub, req: Request) -> Response:
    core = {"limit": 5000, "remaining": 4999, "reset": 2_000_000_000, "used": 1}
    return Response(200, {"resources": {"core": core}, "rate": core})


# The route modules register on import; importing the package gives the whole API.
from testing.fake_github import actions as _actions  # noqa: E402,F401
from testing.fake_github import pulls as _pulls  # noqa: E402,F401
