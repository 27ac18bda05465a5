"""The LLM analyzer: rules phrased by a model from the same findings, grounded and screened.

`digest` (pure) turns findings and the context file into what the model reads; `client` is the
only module that imports openai; `screen` (pure) checks every rule the model returns; `analyze`
ties them together for `learn`. This module holds the settings, resolved from flags and the
environment without importing the SDK, so `learn --analyzer rules` never loads it.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urlsplit

from headroom_ci.cli import decimal
from headroom_ci.cli import whole
from headroom_ci.errors import FatalError

ANALYZERS = ("rules", "llm")
FALLBACKS = ("none", "rules")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_DIGEST_TOKENS = 8000
MIN_DIGEST_TOKENS = 1000   # the digest's fixed header and the context files' share need room


@dataclass(frozen=True)
class LLMFlags:
    """What the command line said, before the environment fills the gaps."""
    analyzer: str = "rules"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    price_in: float | None = None
    price_out: float | None = None
    digest_tokens: int = DEFAULT_DIGEST_TOKENS
    fallback: str = "none"


@dataclass(frozen=True)
class LLMSettings:
    model: str
    # Never shown: kept out of repr so a traceback or a debug print cannot leak it.
    api_key: str = field(repr=False)
    key_source: str = "OPENAI_API_KEY"   # named in errors: where to fix a refused key
    base_url: str | None = None          # None: the SDK's default (api.openai.com)
    azure_endpoint: str | None = None    # set: openai.AzureOpenAI, `model` is the deployment
    api_version: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    price_in: float | None = None        # USD per 1M input tokens
    price_out: float | None = None       # USD per 1M output tokens
    digest_tokens: int = DEFAULT_DIGEST_TOKENS
    fallback: str = "none"


_non_negative = whole(0)
_seconds = decimal("a number of seconds", 0, inclusive=False)
_digest_tokens = whole(MIN_DIGEST_TOKENS)
_price = decimal("a price in USD", 0, inclusive=True)


def add_arguments(p: argparse._ActionsContainer) -> None:
    g = p.add_argument_group("LLM analyzer (any OpenAI-compatible endpoint)")
    g.add_argument("--analyzer", choices=ANALYZERS, default="rules", metavar="|".join(ANALYZERS),
                   help="rules: deterministic (the default, no network); llm: a model phrases the rules from the "
                        "same findings, and every rule it returns is grounded and screened")
    g.add_argument("--model", metavar="NAME", help="the model (Azure: the deployment); required with --analyzer llm")
    g.add_argument("--llm-base-url", metavar="URL", help="the endpoint (default: $OPENAI_BASE_URL, else OpenAI)")
    g.add_argument("--llm-api-key", metavar="KEY",
                   help="the API key (default: $OPENAI_API_KEY; Azure: $AZURE_OPENAI_API_KEY); prefer the variable")
    g.add_argument("--llm-api-version", metavar="VERSION",
                   help="Azure OpenAI API version (default: $OPENAI_API_VERSION); Azure is used when "
                        "$AZURE_OPENAI_ENDPOINT is set and no base URL is given")
    g.add_argument("--llm-timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"per request (default: {DEFAULT_TIMEOUT:g})")
    g.add_argument("--llm-max-retries", type=_non_negative, default=DEFAULT_MAX_RETRIES, metavar="N",
                   help=f"retries on 429, 5xx, timeouts, with backoff (default: {DEFAULT_MAX_RETRIES})")
    g.add_argument("--llm-price-in", type=_price, metavar="USD", help="price per 1M input tokens, for the cost")
    g.add_argument("--llm-price-out", type=_price, metavar="USD", help="price per 1M output tokens, for the cost")
    g.add_argument("--llm-digest-tokens", type=_digest_tokens, default=DEFAULT_DIGEST_TOKENS, metavar="N",
                   help=f"token budget of what the model reads (default: {DEFAULT_DIGEST_TOKENS:,})")
    g.add_argument("--fallback", choices=FALLBACKS, default="none", metavar="|".join(FALLBACKS),
                   help="when the model fails or its answer is unusable: none (the default: exit 1, no plan) or "
                        "rules (the deterministic rules)")


def _http_url(url: str) -> bool:
    """An http(s) URL with a host (and a port, if any, that is a number): what the SDK can call."""
    if any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def flags_from(args: argparse.Namespace) -> LLMFlags:
    return LLMFlags(
        analyzer=args.analyzer, model=args.model, base_url=args.llm_base_url, api_key=args.llm_api_key,
        api_version=args.llm_api_version, timeout=args.llm_timeout, max_retries=args.llm_max_retries,
        price_in=args.llm_price_in, price_out=args.llm_price_out, digest_tokens=args.llm_digest_tokens,
        fallback=args.fallback)


def _env(env: Mapping[str, str], name: str) -> str | None:
    # An empty variable is an unset one: an Actions input left blank arrives as "".
    value = env.get(name, "").strip()
    return value or None


def resolve(flags: LLMFlags, env: Mapping[str, str]) -> LLMSettings | None:
    """The settings for --analyzer llm (None for rules), or a FatalError naming what is missing."""
    if flags.analyzer != "llm":
        return None
    if not flags.model:
        # No built-in default: which model reads a team's transcripts is the team's choice.
        raise FatalError("the llm analyzer needs a model: pass --model NAME or set model in the config (the model, "
                         "or the Azure deployment)")
    if (flags.price_in is None) != (flags.price_out is None):
        raise FatalError("--llm-price-in and --llm-price-out go together: give both to get the cost")
    base_url = flags.base_url or _env(env, "OPENAI_BASE_URL")
    for url, source in ((base_url, "--llm-base-url" if flags.base_url else "OPENAI_BASE_URL"),
                        (None if base_url else _env(env, "AZURE_OPENAI_ENDPOINT"), "AZURE_OPENAI_ENDPOINT")):
        # Checked here, before any session is read: the SDK would say so only at the first request.
        if url and not _http_url(url):
            raise FatalError(f"{source} {url!r}: not an http(s) URL: give one such as http://localhost:11434/v1")
    # Azure only when no OpenAI-compatible endpoint is named: an explicit base URL wins.
    azure = None if base_url else _env(env, "AZURE_OPENAI_ENDPOINT")
    version = None
    if azure:
        key, source = (flags.api_key, "--llm-api-key") if flags.api_key else (
            _env(env, "AZURE_OPENAI_API_KEY"), "AZURE_OPENAI_API_KEY")
        if not key:
            raise FatalError("Azure OpenAI (AZURE_OPENAI_ENDPOINT is set) needs a key: set AZURE_OPENAI_API_KEY "
                             "or pass --llm-api-key")
        version = flags.api_version or _env(env, "OPENAI_API_VERSION")
        if not version:
            raise FatalError("Azure OpenAI needs an API version: pass --llm-api-version or set OPENAI_API_VERSION")
    else:
        key, source = (flags.api_key, "--llm-api-key") if flags.api_key else (
            _env(env, "OPENAI_API_KEY"), "OPENAI_API_KEY")
        if not key:
            raise FatalError("the llm analyzer needs an API key: set OPENAI_API_KEY or pass --llm-api-key "
                             "(a local endpoint such as Ollama or vLLM accepts any value)")
    return LLMSettings(
        model=flags.model, api_key=key, key_source=source, base_url=base_url, azure_endpoint=azure,
        api_version=version, timeout=flags.timeout, max_retries=flags.max_retries, price_in=flags.price_in,
        price_out=flags.price_out, digest_tokens=flags.digest_tokens, fallback=flags.fallback)
