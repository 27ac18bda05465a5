"""The client against a local OpenAI-compatible server, reached through the SDK's own base_url."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from headroom_ci.llm import LLMSettings
from headroom_ci.llm.client import json_depth
from headroom_ci.llm.client import Answer
from headroom_ci.llm.client import ask
from headroom_ci.llm.client import LLMError
from headroom_ci.llm.client import Proposed
from headroom_ci.llm.client import REPAIR
from headroom_ci.llm.client import SCHEMA
from headroom_ci.llm.client import Usage
from testing import fake_openai as fo
from testing.fake_openai import FakeOpenAI

GOOD = {"recommendations": [{"section": "Environment", "rule": "- Use `uv run pytest`.",
                             "finding_ids": ["F-11111111"]}]}
ANSWER = Answer(recommendations=[Proposed(section="Environment", rule="- Use `uv run pytest`.",
                                          finding_ids=["F-11111111"])])
SYSTEM = "Answer with JSON only."


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def settings(fake: FakeOpenAI, **kw: Any) -> LLMSettings:
    return LLMSettings(**{"model": "test-model", "api_key": fo.API_KEY, "base_url": fake.base_url, "timeout": 5.0,
                          "max_retries": 2, **kw})


def formats(fake: FakeOpenAI) -> list[str]:
    return [r.response_format for r in fake.requests]


def test_a_good_answer(fake: FakeOpenAI) -> None:
    fake.then(fo.answer_json(GOOD, usage=(1234, 56)))
    reply = ask(settings(fake), system=SYSTEM, user="the digest")
    assert (reply.answer, reply.usage, reply.response_format, reply.repaired) == (
        ANSWER, Usage(1, 1234, 56), "json_schema", False)
    (req,) = fake.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {fo.API_KEY}"
    assert req.body["model"] == "test-model"
    assert req.body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "the digest"}]
    assert req.body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "headroom_rules", "strict": True, "schema": SCHEMA}}


def test_json_schema_rejected_then_json_object(fake: FakeOpenAI) -> None:
    fake.formats = ("json_object", "text")
    fake.then(fo.answer_json(GOOD))
    reply = ask(settings(fake), system=SYSTEM, user="digest")
    assert (reply.answer, reply.response_format, reply.usage.requests) == (ANSWER, "json_object", 1)
    assert formats(fake) == ["json_schema", "json_object"]


def test_both_rejected_then_json_extracted_from_text(fake: FakeOpenAI) -> None:
    fake.formats = ("text",)
    fake.then(fo.answer("Here are the rules:\n```json\n" + json.dumps(GOOD, indent=1) + "\n```\nAnything else?"))
    reply = ask(settings(fake), system=SYSTEM, user="digest")
    assert (reply.answer, reply.response_format) == (ANSWER, "text")
    assert formats(fake) == ["json_schema", "json_object", "text"]
    assert "response_format" not in fake.requests[-1].body


def test_malformed_json_then_repaired(fake: FakeOpenAI) -> None:
    fake.then(fo.answer('{"recommendations": [{"section": "Environment"', usage=(100, 10)),
              fo.answer_json(GOOD, usage=(150, 20)))
    reply = ask(settings(fake), system=SYSTEM, user="digest")
    assert (reply.answer, reply.usage, reply.repaired) == (ANSWER, Usage(2, 250, 30), True)
    repair = fake.requests[1].messages
    assert repair[2:] == [
        {"role": "assistant", "content": '{"recommendations": [{"section": "Environment"'},
        {"role": "user", "content": REPAIR.format(problem="it is not valid JSON")}]
    assert formats(fake) == ["json_schema", "json_schema"]


@pytest.mark.parametrize("first, problem", [
    pytest.param(fo.answer_json({"recommendations": [{"section": "Environment", "rule": "- x"}]}),
                 "it does not match the schema (1 errors; at recommendations.0.finding_ids: Field required)",
                 id="missing-field"),
    pytest.param(fo.answer_json({"recommendations": [{"section": "Environment", "rule": "- x", "finding_ids": "F-1"}]}),
                 "it does not match the schema (1 errors; at recommendations.0.finding_ids: Input should be a valid "
                 "list)", id="wrong-type"),
    pytest.param(fo.answer(""), "the answer was empty", id="empty"),
    pytest.param(fo.refuse("I can't help with that."), "the model refused: I can't help with that.", id="refusal"),
    pytest.param(fo.answer('{"recommendations": [', finish_reason="length"),
                 "the answer was cut off at the output limit", id="cut-off"),
    pytest.param(fo.answer('{"recommendations": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                 "the answer is longer than 200000 characters", id="huge"),
    pytest.param(fo.answer('{"recommendations": [{"section": "Environment", "rule": "- x", "finding_ids": '
                           + "[" * 40 + "]" * 40 + "}]}"),
                 "the answer is nested deeper than 16 levels", id="deeply-nested"),
])
def test_unusable_answers_get_one_repair(fake: FakeOpenAI, first: fo.Step, problem: str) -> None:
    fake.then(first, fo.answer_json(GOOD))
    reply = ask(settings(fake), system=SYSTEM, user="digest")
    assert (reply.answer, reply.repaired) == (ANSWER, True)
    assert fake.requests[1].messages[-1] == {"role": "user", "content": REPAIR.format(problem=problem)}


def test_a_bare_list_is_accepted(fake: FakeOpenAI) -> None:
    fake.then(fo.answer(json.dumps(GOOD["recommendations"])))
    assert ask(settings(fake), system=SYSTEM, user="digest").answer == ANSWER


def test_unusable_after_the_repair_is_an_error(fake: FakeOpenAI) -> None:
    fake.then(fo.answer("no JSON here", usage=(10, 3)), fo.answer("still none", usage=(20, 2)))
    with pytest.raises(LLMError) as exc:
        ask(settings(fake), system=SYSTEM, user="digest")
    assert str(exc.value) == (f"the answer of 'test-model' at {fake.base_url} is not usable (it is not valid JSON), "
                              "nor after one repair attempt (it is not valid JSON)")
    assert exc.value.usage == Usage(2, 30, 5)


@pytest.mark.parametrize("failure", [
    pytest.param(fo.rate_limited(), id="429"), pytest.param(fo.server_error(500), id="500"),
    pytest.param(fo.server_error(503), id="503"),
])
def test_retried_with_backoff_then_success(fake: FakeOpenAI, failure: fo.Step) -> None:
    fake.then(failure, failure, fo.answer_json(GOOD))
    reply = ask(settings(fake), system=SYSTEM, user="digest")
    assert (reply.answer, reply.usage.requests) == (ANSWER, 1)
    assert len(fake.requests) == 3


def test_out_of_quota_is_not_reported_as_rate_limiting(fake: FakeOpenAI) -> None:
    fake.then(*[fo.out_of_quota()] * 3)
    with pytest.raises(LLMError) as exc:
        ask(settings(fake, max_retries=0), system=SYSTEM, user="digest")
    assert str(exc.value) == (f"{fake.base_url} says the account of the key is out of quota (429 "
                              "insufficient_quota): add credit or raise its limits, or use another key "
                              "(OPENAI_API_KEY)")


def test_still_rate_limited_after_the_retries(fake: FakeOpenAI) -> None:
    fake.then(*[fo.rate_limited()] * 3)
    with pytest.raises(LLMError) as exc:
        ask(settings(fake, max_retries=1), system=SYSTEM, user="digest")
    assert str(exc.value) == (f"{fake.base_url} is rate limiting (429) after 2 attempts: Rate limit reached for "
                              "requests per min (RPM): Limit 3, Used 3, Requested 1.")
    assert len(fake.requests) == 2


def test_timeout(fake: FakeOpenAI) -> None:
    fake.then(fo.hang(5), fo.hang(5))
    start = time.monotonic()
    with pytest.raises(LLMError) as exc:
        ask(settings(fake, timeout=0.3, max_retries=1), system=SYSTEM, user="digest")
    assert str(exc.value) == f"{fake.base_url} did not answer within 0.3s (2 attempts): raise --llm-timeout or retry later"
    assert len(fake.requests) == 2
    assert time.monotonic() - start < 4


@pytest.mark.parametrize("kw, message", [
    pytest.param({"api_key": "sk-wrong", "key_source": "OPENAI_API_KEY"},
                 "{url} refused the API key (401): check OPENAI_API_KEY", id="wrong-key"),
    pytest.param({"base_url": "{root}/v2"},
                 "{root}/v2 answered 404 for model 'test-model': check --model (on Azure: the deployment name) "
                 "and the base URL", id="wrong-url"),
])
def test_errors_say_what_to_fix(fake: FakeOpenAI, kw: dict[str, str], message: str) -> None:
    kw = {k: v.format(root=fake.url) for k, v in kw.items()}
    with pytest.raises(LLMError) as exc:
        ask(settings(fake, **kw), system=SYSTEM, user="digest")
    assert str(exc.value) == message.format(url=fake.base_url, root=fake.url)


def test_an_html_error_page_is_an_error(fake: FakeOpenAI) -> None:
    fake.then(fo.not_json())
    with pytest.raises(LLMError) as exc:
        ask(settings(fake), system=SYSTEM, user="digest")
    assert str(exc.value) == (f"{fake.base_url} did not answer with a chat completion: "
                              "'<html><body>502 Bad Gateway</body></html>'")


def test_azure(fake: FakeOpenAI) -> None:
    fake.then(fo.answer_json(GOOD))
    reply = ask(LLMSettings(model="rules-deployment", api_key=fo.API_KEY, key_source="AZURE_OPENAI_API_KEY",
                            azure_endpoint=fake.url, api_version="2024-10-21", timeout=5.0, max_retries=0),
                system=SYSTEM, user="digest")
    assert reply.answer == ANSWER
    (req,) = fake.requests
    assert (req.path, req.query, req.headers["api-key"]) == (
        "/openai/deployments/rules-deployment/chat/completions", {"api-version": "2024-10-21"}, fo.API_KEY)
    # (openai before 2.34 also sends the key as a bearer token, to the same endpoint: the SDK's
    # business, not something this project chooses)
    assert req.headers.get("authorization") in (None, f"Bearer {fo.API_KEY}")


@pytest.mark.parametrize("text, depth", [
    pytest.param('{"a": [1, {"b": []}]}', 4, id="nested"),
    pytest.param('{"a": "[[[{{{", "b": "\\"[[["}', 1, id="brackets-in-strings-do-not-count"),
    pytest.param("prose ] then [ x", 1, id="stray-closing"),
])
def test_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth
