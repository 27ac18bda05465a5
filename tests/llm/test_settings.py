from __future__ import annotations

import argparse

import pytest

from headroom_ci.errors import FatalError
from headroom_ci.llm import add_arguments
from headroom_ci.llm import flags_from
from headroom_ci.llm import LLMFlags
from headroom_ci.llm import LLMSettings
from headroom_ci.llm import resolve

KEY = "sk-test-key"


def parse(*argv: str) -> LLMFlags:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return flags_from(p.parse_args(list(argv)))


def test_rules_needs_nothing() -> None:
    assert resolve(parse(), {}) is None
    assert resolve(parse("--model", "m"), {"OPENAI_API_KEY": KEY}) is None


@pytest.mark.parametrize("argv, env, expected", [
    pytest.param(["--model", "gpt-x"], {"OPENAI_API_KEY": KEY},
                 LLMSettings(model="gpt-x", api_key=KEY), id="openai-defaults"),
    pytest.param(["--model", "m", "--llm-api-key", "flag-key"], {"OPENAI_API_KEY": KEY},
                 LLMSettings(model="m", api_key="flag-key", key_source="--llm-api-key"), id="flag-key-wins"),
    pytest.param(["--model", "m"], {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://localhost:11434/v1"},
                 LLMSettings(model="m", api_key=KEY, base_url="http://localhost:11434/v1"), id="base-url-from-env"),
    pytest.param(["--model", "m", "--llm-base-url", "http://vllm:8000/v1"],
                 {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://other/v1", "AZURE_OPENAI_ENDPOINT": "https://a"},
                 LLMSettings(model="m", api_key=KEY, base_url="http://vllm:8000/v1"), id="base-url-flag-wins-over-azure"),
    pytest.param(["--model", "dep"], {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
                                      "AZURE_OPENAI_API_KEY": "az", "OPENAI_API_VERSION": "2024-10-21"},
                 LLMSettings(model="dep", api_key="az", key_source="AZURE_OPENAI_API_KEY",
                             azure_endpoint="https://x.openai.azure.com", api_version="2024-10-21"), id="azure"),
    pytest.param(["--model", "dep", "--llm-api-version", "2025-01-01"],
                 {"AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_API_KEY": "az", "OPENAI_API_VERSION": "old"},
                 LLMSettings(model="dep", api_key="az", key_source="AZURE_OPENAI_API_KEY",
                             azure_endpoint="https://x", api_version="2025-01-01"), id="azure-version-flag-wins"),
    pytest.param(["--model", "m", "--llm-timeout", "2.5", "--llm-max-retries", "0", "--llm-price-in", "0.15",
                  "--llm-price-out", "0.6", "--llm-digest-tokens", "4000", "--fallback", "rules"],
                 {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": ""},
                 LLMSettings(model="m", api_key=KEY, timeout=2.5, max_retries=0, price_in=0.15, price_out=0.6,
                             digest_tokens=4000, fallback="rules"), id="every-knob-and-empty-env-is-unset"),
])
def test_resolve(argv: list[str], env: dict[str, str], expected: LLMSettings) -> None:
    assert resolve(parse("--analyzer", "llm", *argv), env) == expected


@pytest.mark.parametrize("argv, env, message", [
    pytest.param([], {"OPENAI_API_KEY": KEY},
                 "the llm analyzer needs a model: pass --model NAME or set model in the config (the model, or the Azure "
                 "deployment)", id="no-model"),
    pytest.param(["--model", "m"], {"OPENAI_API_KEY": "  "},
                 "the llm analyzer needs an API key: set OPENAI_API_KEY or pass --llm-api-key (a local endpoint such "
                 "as Ollama or vLLM accepts any value)", id="no-key"),
    pytest.param(["--model", "m"], {"AZURE_OPENAI_ENDPOINT": "https://x", "OPENAI_API_KEY": KEY},
                 "Azure OpenAI (AZURE_OPENAI_ENDPOINT is set) needs a key: set AZURE_OPENAI_API_KEY or pass "
                 "--llm-api-key", id="azure-no-key"),
    pytest.param(["--model", "m"], {"AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_API_KEY": "az"},
                 "Azure OpenAI needs an API version: pass --llm-api-version or set OPENAI_API_VERSION",
                 id="azure-no-version"),
    pytest.param(["--model", "m", "--llm-price-in", "1"], {"OPENAI_API_KEY": KEY},
                 "--llm-price-in and --llm-price-out go together: give both to get the cost", id="half-a-price"),
    pytest.param(["--model", "m", "--llm-base-url", "http://localhost:abc/v1"], {"OPENAI_API_KEY": KEY},
                 "--llm-base-url 'http://localhost:abc/v1': not an http(s) URL: give one such as "
                 "http://localhost:11434/v1", id="a-port-that-is-no-number"),
    pytest.param(["--model", "m", "--llm-base-url", "http:///v1"], {"OPENAI_API_KEY": KEY},
                 "--llm-base-url 'http:///v1': not an http(s) URL: give one such as http://localhost:11434/v1",
                 id="no-host"),
])
def test_resolve_errors(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(FatalError) as exc:
        resolve(parse("--analyzer", "llm", *argv), env)
    assert str(exc.value) == message


@pytest.mark.parametrize("argv", [
    ["--llm-timeout", "0"], ["--llm-timeout", "nan"], ["--llm-max-retries", "-1"], ["--llm-price-in", "-2"],
    ["--llm-digest-tokens", "999"], ["--analyzer", "gpt"], ["--fallback", "maybe"],
])
def test_bad_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2


def test_the_key_never_shows_in_a_repr() -> None:
    settings = LLMSettings(model="m", api_key="sk-very-secret")
    flags = LLMFlags(api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(settings) + repr(flags)


def test_an_upper_case_scheme_is_an_http_url() -> None:
    settings = resolve(parse("--analyzer", "llm", "--model", "m", "--llm-base-url", "HTTPS://models.example.com/v1"),
                       {"OPENAI_API_KEY": KEY})
    assert settings is not None and settings.base_url == "HTTPS://models.example.com/v1"
