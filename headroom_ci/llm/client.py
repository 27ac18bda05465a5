"""One question to an OpenAI-compatible endpoint: the digest in, recommendations out.

The only module that imports openai. Any endpoint that speaks Chat Completions works (OpenAI,
Azure OpenAI, Anthropic's OpenAI-compatible endpoint, OpenRouter, vLLM, Ollama, LiteLLM), so
the answer's form is negotiated: structured output with a strict JSON schema first; an
endpoint that rejects it gets `json_object`, then plain text from which the JSON is extracted.
Whatever arrives is validated with pydantic. An unusable answer gets one repair attempt, then
an LLMError. 429, 5xx, timeouts and connection errors are retried by the SDK itself with
exponential backoff, honouring Retry-After, `max_retries` times.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from headroom_ci.errors import FatalError
from headroom_ci.llm import LLMSettings
from headroom_ci.rules import SECTIONS

MAX_RECOMMENDATIONS = 60
FORMATS = ("json_schema", "json_object", "text")
SCHEMA_NAME = "headroom_rules"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "recommendations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "section": {"type": "string", "enum": list(SECTIONS)},
                    "rule": {"type": "string",
                             "description": "one markdown bullet line starting with '- '"},
                    "finding_ids": {"type": "array", "items": {"type": "string"},
                                    "description": "ids of the findings the rule rests on, e.g. F-1a2b3c4d"},
                },
                "required": ["section", "rule", "finding_ids"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["recommendations"],
    "additionalProperties": False,
}
REPAIR = ("That answer cannot be used: {problem}. Answer again with only the JSON object "
          '{{"recommendations": [{{"section": …, "rule": …, "finding_ids": […]}}]}}, nothing else.')


class LLMError(FatalError):
    """The endpoint failed, or its answer stayed unusable; --fallback rules catches it."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()  # what was spent before it failed


class Proposed(BaseModel):
    # Extra keys are ignored: json_object and text answers add their own ("reasoning", …).
    model_config = ConfigDict(extra="ignore", strict=True)
    section: str
    rule: str
    finding_ids: list[str]


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    recommendations: list[Proposed] = Field(max_length=MAX_RECOMMENDATIONS)


@dataclass(frozen=True)
class Usage:
    requests: int = 0        # answered requests (an SDK retry of a 429 is not one)
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.requests + other.requests, self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens)


@dataclass(frozen=True)
class Reply:
    answer: Answer
    usage: Usage
    response_format: str     # the one the endpoint accepted
    repaired: bool


class Unusable(Exception):
    """An answer that arrived but cannot be used; the message says why, for the repair prompt."""


def endpoint(settings: LLMSettings) -> str:
    """Where requests go, for messages: scheme, host and path; never credentials or a query."""
    url = settings.azure_endpoint or settings.base_url
    if not url:
        return "api.openai.com"
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}" if parts.scheme else url.split("?")[0]


def _client(settings: LLMSettings) -> openai.OpenAI:
    # Timeout and retries always explicit: the SDK's defaults (10 minutes, 2 retries) are not ours.
    if settings.azure_endpoint:
        return openai.AzureOpenAI(azure_endpoint=settings.azure_endpoint, api_key=settings.api_key,
                                  api_version=settings.api_version, timeout=settings.timeout,
                                  max_retries=settings.max_retries)
    if settings.base_url:
        return openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key, timeout=settings.timeout,
                             max_retries=settings.max_retries)
    return openai.OpenAI(api_key=settings.api_key, timeout=settings.timeout, max_retries=settings.max_retries)


def _response_format(kind: str) -> dict[str, Any] | None:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA}}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def _rejects_format(exc: openai.APIStatusError) -> bool:
    """Whether a 400/422 is the endpoint refusing the response_format rather than the request."""
    text = f"{exc.message} {json.dumps(exc.body, default=str) if exc.body is not None else ''}".lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object", "structured output",
                                         "response format"))


def _message(exc: openai.APIError) -> str:
    # The SDK's message repeats the whole body; the endpoint's own message is what helps.
    body = exc.body
    text = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), str) else exc.message
    text = " ".join(str(text).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _code(exc: openai.APIError) -> str | None:
    body = exc.body
    code = body.get("code") or body.get("type") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _failure(exc: openai.APIError, settings: LLMSettings, spent: Usage) -> LLMError:
    error = _failure_text(exc, settings)
    return LLMError(error, spent)


def _failure_text(exc: openai.APIError, settings: LLMSettings) -> str:
    where = endpoint(settings)
    attempts = f"{settings.max_retries + 1} attempt" + ("s" if settings.max_retries else "")
    if isinstance(exc, openai.APITimeoutError):
        return f"{where} did not answer within {settings.timeout:g}s ({attempts}): raise --llm-timeout or retry later"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach {where} ({attempts}): {_message(exc)}"
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return f"{where} refused the API key ({exc.status_code}): check {settings.key_source}"
    if isinstance(exc, openai.NotFoundError):
        return (f"{where} answered 404 for model {settings.model!r}: check --model (on Azure: the deployment "
                "name) and the base URL")
    if isinstance(exc, openai.RateLimitError) and _code(exc) == "insufficient_quota":
        # Also a 429, but no wait helps: the account behind the key has no credit left.
        return (f"{where} says the account of the key is out of quota (429 insufficient_quota): add credit or "
                f"raise its limits, or use another key ({settings.key_source})")
    if isinstance(exc, openai.RateLimitError):
        return f"{where} is rate limiting (429) after {attempts}: {_message(exc)}"
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return f"{where} failed with {exc.status_code} after {attempts}: {_message(exc)}"
    if isinstance(exc, openai.APIStatusError):
        return f"{where} answered {exc.status_code}: {_message(exc)}"
    return f"{where}: {_message(exc)}"


@dataclass(frozen=True)
class _Raw:
    text: str
    problem: str | None   # set: the answer arrived but cannot be used (refused, cut off, none)
    usage: Usage
    format: str           # the response_format it was asked in


def _request(client: openai.OpenAI, settings: LLMSettings, messages: Sequence[ChatCompletionMessageParam],
             formats: Sequence[str], spent: Usage) -> _Raw:
    """One answer; a rejected response_format gives way to the next of `formats`."""
    for i, kind in enumerate(formats):
        fmt = _response_format(kind)
        extra: dict[str, Any] = {"response_format": fmt} if fmt is not None else {}
        try:
            resp = client.chat.completions.create(model=settings.model, messages=messages, **extra)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            if i + 1 < len(formats) and _rejects_format(exc):
                continue
            raise _failure(exc, settings, spent) from None
        except openai.APIError as exc:
            raise _failure(exc, settings, spent) from None
        if not hasattr(resp, "choices"):
            # The SDK hands back the body as is when it is not JSON: a proxy's HTML error page.
            body = " ".join(str(resp).split())[:120]
            raise LLMError(f"{endpoint(settings)} did not answer with a chat completion: {body!r}", spent)
        usage = Usage(1, resp.usage.prompt_tokens or 0, resp.usage.completion_tokens or 0) if resp.usage else Usage(1)
        text, problem = _content(resp)
        return _Raw(text, problem, usage, kind)
    raise AssertionError("unreachable: the last format is never skipped")


def _content(resp: Any) -> tuple[str, str | None]:
    if not resp.choices:
        return "", "the answer had no choices"
    choice = resp.choices[0]
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        return "", f"the model refused: {' '.join(str(refusal).split())[:200]}"
    if choice.finish_reason == "length":
        return choice.message.content or "", "the answer was cut off at the output limit"
    return choice.message.content or "", None


# Bounds on what is decoded at all: the answer holds a short list of one-line rules.
MAX_ANSWER_CHARS = 200_000
MAX_JSON_DEPTH = 16


def json_depth(text: str) -> int:
    """The deepest nesting of brackets outside JSON strings (a decoder would recurse that deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def parse(text: str) -> Answer:
    """The answer in `text`: JSON as is, in a code fence, or inside prose; validated."""
    if not text.strip():
        raise Unusable("the answer was empty")
    if len(text) > MAX_ANSWER_CHARS:
        raise Unusable(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise Unusable(f"the answer is nested deeper than {MAX_JSON_DEPTH} levels")
    data = _json(text)
    if isinstance(data, list):
        data = {"recommendations": data}  # some models answer with the list alone
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "the top level"
        raise Unusable(f"it does not match the schema ({exc.error_count()} errors; at {where}: {first['msg']})") \
            from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    # Prose around the JSON, or a ```json fence: the first object (or list) that decodes.
    starts = [i for i, ch in enumerate(text) if ch in "{["][:50]
    for i in starts:
        try:
            value, _ = decoder.raw_decode(text, i)
        except ValueError:
            continue
        if isinstance(value, (dict, list)):
            return value
    raise Unusable("it is not valid JSON")


def _parsed(raw: _Raw) -> Answer:
    if raw.problem:
        raise Unusable(raw.problem)
    return parse(raw.text)


def ask(settings: LLMSettings, *, system: str, user: str) -> Reply:
    """The model's recommendations for the digest in `user`, or an LLMError."""
    client = _client(settings)
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system},
                                                  {"role": "user", "content": user}]
    raw = _request(client, settings, messages, FORMATS, Usage())
    try:
        return Reply(_parsed(raw), raw.usage, raw.format, repaired=False)
    except Unusable as exc:
        problem = str(exc)
    # One repair: the model sees its answer and what was wrong, asked in the format that worked.
    messages += [{"role": "assistant", "content": raw.text},
                 {"role": "user", "content": REPAIR.format(problem=problem)}]
    again = _request(client, settings, messages, FORMATS[FORMATS.index(raw.format):], raw.usage)
    usage = raw.usage + again.usage
    try:
        return Reply(_parsed(again), usage, again.format, repaired=True)
    except Unusable as exc:
        raise LLMError(f"the answer of {settings.model!r} at {endpoint(settings)} is not usable ({problem}), "
                       f"nor after one repair attempt ({exc})", usage) from None
