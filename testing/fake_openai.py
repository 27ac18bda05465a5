"""A local stand-in for an OpenAI-compatible Chat Completions endpoint, reached through the
openai SDK's own `base_url` (or `azure_endpoint`).

It answers `POST /v1/chat/completions` (and Azure's `/openai/deployments/<name>/chat/completions`)
with the documented shapes: a `chat.completion` object (`id`, `object`, `created`, `model`,
`choices[].message.content`, `finish_reason`, `usage.prompt_tokens/completion_tokens`), and
errors as `{"error": {"message", "type", "param", "code"}}`. Like OpenAI it checks the key,
refuses a `response_format` the model does not support with a 400, refuses a strict json_schema
whose objects do not list every property as required with `additionalProperties: false`, and
refuses `json_object` when no message mentions JSON. Tests script what comes next (an answer, a
429 with Retry-After, a 5xx, a hang past the client's timeout, a body that is not JSON) and
read every request back.
"""
from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

API_KEY = "sk-fake-for-tests"
CREATED = 1795219200  # 2026-11-21, fixed so answers are reproducible
_AZURE = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def response_format(self) -> str:
        fmt = self.body.get("response_format") if isinstance(self.body, dict) else None
        return fmt["type"] if isinstance(fmt, dict) else "text"


@dataclass
class Step:
    """One scripted behaviour, used by the next request that reaches the script."""
    status: int = 200
    content: str | None = None               # the answer's message.content
    body: Any = None                         # a whole JSON body instead (errors)
    raw: bytes | None = None                 # bytes as they are (a body that is not JSON)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0                       # seconds before answering
    finish_reason: str = "stop"
    refusal: str | None = None
    usage: tuple[int, int] | None = None     # (prompt, completion); default: length / 4


def answer(content: str, *, usage: tuple[int, int] | None = None, finish_reason: str = "stop") -> Step:
    return Step(content=content, usage=usage, finish_reason=finish_reason)


def answer_json(data: Any, **kw: Any) -> Step:
    return answer(json.dumps(data), **kw)


def refuse(reason: str) -> Step:
    return Step(content=None, refusal=reason)


def error(status: int, message: str, *, type: str, code: str | None = None, param: str | None = None,
          headers: dict[str, str] | None = None) -> Step:
    return Step(status=status, body={"error": {"message": message, "type": type, "param": param, "code": code}},
                headers=headers or {})


# What OpenAI sends with every answer about the limits of the key (the SDK does not read them).
_LIMITS = {"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
           "x-ratelimit-reset-requests": "20s", "x-ratelimit-limit-tokens": "40000",
           "x-ratelimit-remaining-tokens": "39000", "x-ratelimit-reset-tokens": "1.5s"}


def rate_limited(*, retry_after_ms: int = 10) -> Step:
    # The headers the SDK's retry reads: retry-after-ms first, then retry-after (seconds or a
    # date); a test waits milliseconds.
    return error(429, "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
                 type="requests", code="rate_limit_exceeded",
                 headers={**_LIMITS, "retry-after-ms": str(retry_after_ms), "retry-after": "1"})


def out_of_quota() -> Step:
    """A key whose account has no credit left: a 429 too, but waiting does not help."""
    return error(429, "You exceeded your current quota, please check your plan and billing details. For more "
                      "information on this error, read the docs: "
                      "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                 type="insufficient_quota", code="insufficient_quota", headers={**_LIMITS, "retry-after-ms": "10"})


def server_error(status: int = 500) -> Step:
    return error(status, "The server had an error while processing your request. Sorry about that!",
                 type="server_error", headers={"retry-after-ms": "10"})


def hang(seconds: float, content: str = "{}") -> Step:
    return Step(content=content, delay=seconds)


def not_json() -> Step:
    return Step(raw=b"<html><body>502 Bad Gateway</body></html>", headers={"Content-Type": "text/html"})


def _strict_problem(schema: Any, where: str = "()") -> str | None:
    """What OpenAI's strict mode refuses in a schema: objects must list every property as
    required and set additionalProperties to false."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object":
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        missing = sorted(set(props) - set(schema.get("required", [])))
        if missing:
            return f"In context={where}, 'required' is required to include every key in properties. Missing '{missing[0]}'."
        for name, sub in props.items():
            if problem := _strict_problem(sub, f"('properties', '{name}')"):
                return problem
    if schema.get("type") == "array":
        return _strict_problem(schema.get("items"), f"{where}.items")
    return None


class FakeOpenAI:
    """`with FakeOpenAI() as fake:` serves on 127.0.0.1; `fake.base_url` goes to OpenAI(base_url=…)."""

    def __init__(self, *, api_key: str = API_KEY, formats: tuple[str, ...] = ("json_schema", "json_object", "text")
                 ) -> None:
        self.api_key = api_key
        self.formats = formats                 # the response_format types the "model" supports
        self.script: deque[Step] = deque()
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # hanging handlers return at once
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def then(self, *steps: Step) -> FakeOpenAI:
        self.script.extend(steps)
        return self

    def chat_requests(self) -> Iterator[Request]:
        return (r for r in self.requests if r.path.endswith("/chat/completions"))

    # -- plumbing ----------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        req = Request(url.path, {k: v[-1] for k, v in parse_qs(url.query).items()},
                      {k.lower(): v for k, v in h.headers.items()}, body)
        with self.lock:
            self.requests.append(req)
            step = self._answer(h.command, req)
        if step.delay:
            self._stop.wait(step.delay)
        data = step.raw if step.raw is not None else json.dumps(
            step.body if step.body is not None else self._completion(req, step)).encode()
        try:
            h.send_response(step.status)
            for k, v in {"Content-Type": "application/json", **step.headers}.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): as a real server, carry on

    def _answer(self, method: str, req: Request) -> Step:
        azure = _AZURE.match(req.path)
        if method != "POST" or not (req.path == "/v1/chat/completions" or azure):
            return error(404, f"Unknown request URL: {method} {req.path}.", type="invalid_request_error",
                         code="unknown_url")
        key = req.headers.get("api-key") if azure else req.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return error(401, "Incorrect API key provided. You can find your API key at "
                         "https://platform.openai.com/account/api-keys.", type="invalid_request_error",
                         code="invalid_api_key")
        if not isinstance(req.body, dict) or not req.body.get("model") and not azure:
            return error(400, "you must provide a model parameter", type="invalid_request_error")
        kind = req.response_format
        if kind not in self.formats:
            return error(400, f"Invalid parameter: 'response_format' of type '{kind}' is not supported with "
                         "this model.", type="invalid_request_error", param="response_format")
        if kind == "json_schema":
            spec = req.body["response_format"].get("json_schema", {})
            if spec.get("strict") and (problem := _strict_problem(spec.get("schema"))):
                return error(400, f"Invalid schema for response_format '{spec.get('name')}': {problem}",
                             type="invalid_request_error", param="response_format", code="invalid_json_schema")
        if kind == "json_object" and not any("json" in str(m.get("content", "")).lower() for m in req.messages):
            return error(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of "
                         "type 'json_object'.", type="invalid_request_error", param="messages")
        if not self.script:
            return error(500, "fake: no scripted answer left", type="server_error")
        return self.script.popleft()

    def _completion(self, req: Request, step: Step) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) for m in req.messages)
        usage = step.usage or (-(-prompt // 4), -(-len(step.content or "") // 4))
        azure = _AZURE.match(req.path)
        return {
            "id": f"chatcmpl-fake{len(self.requests)}", "object": "chat.completion", "created": CREATED,
            "model": azure.group(1) if azure else req.body.get("model"), "system_fingerprint": None,
            "choices": [{"index": 0, "logprobs": None, "finish_reason": step.finish_reason,
                         "message": {"role": "assistant", "content": step.content, "refusal": step.refusal}}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
        }
