"""One call through the real openai client against a real local HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from srl_data.teacher.client import CallError, Reply, TeacherClient, TeacherRequest, is_local_url, parse_reply
from tests.chat_server import ChatServer
from tests.chat_server import Reply as Served

SECRET = "sk-test-Secret-1234567890"


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def request(problem: str = "Give back 5.", **params: object) -> TeacherRequest:
    return TeacherRequest(model="m", messages=(("user", problem),), params=tuple(params.items()))


def call(server: ChatServer, req: TeacherRequest, *, timeout: float = 5.0, key: str | None = None) -> Reply:
    async def main() -> Reply:
        client = TeacherClient(base_url=server.url, api_key=key, api_key_env="MY_KEY", timeout=timeout)
        try:
            return await client.complete(req)
        finally:
            await client.aclose()

    return asyncio.run(main())


def fails(server: ChatServer, req: TeacherRequest, **kwargs: object) -> CallError:
    with pytest.raises(CallError) as info:
        call(server, req, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_answer_usage_and_sent_body(server: ChatServer) -> None:
    req = request(temperature=0.5, max_tokens=64, seed=3)
    reply = call(server, req)
    assert reply.content is not None and "\\boxed{5}" in reply.content
    assert reply.finish_reason == "stop"
    assert reply.prompt_tokens == 20 and reply.completion_tokens > 0
    sent = next(iter(server.bodies.values()))
    assert sent["model"] == "m"
    assert sent["messages"] == [{"role": "user", "content": "Give back 5."}]
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0.5, 64, 3)


def test_extra_body_is_passed_through(server: ChatServer) -> None:
    req = TeacherRequest(model="m", messages=(("user", "x 1"),), extra_body='{"top_k": 20}')
    call(server, req)
    assert next(iter(server.bodies.values()))["top_k"] == 20


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_is_kept_apart(server: ChatServer, field: str) -> None:
    server.script = lambda body, n: Served.completion("1. **A** b\n\\boxed{1}", reasoning="hmm", reasoning_field=field)
    reply = call(server, request())
    assert reply.reasoning == "hmm"
    assert "hmm" not in (reply.content or "")


def test_key_is_sent_as_bearer_and_keyless_sends_placeholder(server: ChatServer) -> None:
    call(server, request(), key=SECRET)
    call(server, request("other 2"))
    auth = [h.get("authorization") for h in server.headers_seen]
    assert auth == [f"Bearer {SECRET}", "Bearer no-key"]


def test_429_is_retryable_with_retry_after(server: ChatServer) -> None:
    server.script = lambda body, n: Served.error(429, "slow down", retry_after="7")
    err = fails(server, request())
    assert (err.kind, err.status, err.retryable, err.fatal, err.retry_after) == ("rate_limited", 429, True, False, 7.0)
    assert "slow down" in err.message


@pytest.mark.parametrize(("status", "kind"), [(500, "server_error"), (503, "server_error"), (408, "request_timeout"),
                                              (409, "conflict")])
def test_retryable_statuses(server: ChatServer, status: int, kind: str) -> None:
    server.script = lambda body, n: Served.error(status, retry_after_ms="15")
    err = fails(server, request())
    assert (err.kind, err.retryable, err.fatal, err.retry_after) == (kind, True, False, 0.015)


def test_400_fails_fast_for_this_request(server: ChatServer) -> None:
    server.script = lambda body, n: Served.error(400, "prompt too long")
    err = fails(server, request())
    assert (err.kind, err.retryable, err.fatal) == ("bad_request", False, False)
    assert err.message == "the server rejected the request (HTTP 400): prompt too long"


def test_401_stops_the_run_names_the_variable_and_hides_the_key(server: ChatServer) -> None:
    server.script = lambda body, n: Served.error(401, f"Incorrect API key provided: {SECRET}")
    err = fails(server, request(), key=SECRET)
    assert (err.kind, err.fatal) == ("auth", True)
    assert "MY_KEY" in err.message and "--api-key-env" in err.message
    assert SECRET not in err.message and "***" in err.message


def test_404_names_the_model_and_base_url(server: ChatServer) -> None:
    server.script = lambda body, n: Served.error(404, "model 'm' not found")
    err = fails(server, request())
    assert err.fatal and "--teacher" in err.message and "--base-url" in err.message


def test_malformed_bodies_are_retryable(server: ChatServer) -> None:
    server.script = lambda body, n: Served(body="{not json")
    assert fails(server, request()).kind == "malformed_response"
    server.script = lambda body, n: Served(body={"object": "chat.completion", "choices": []})
    assert fails(server, request("b 1")).kind == "malformed_response"


def test_slow_reply_times_out(server: ChatServer) -> None:
    server.script = lambda body, n: Served.completion("late", delay=1.0)
    err = fails(server, request(), timeout=0.2)
    assert (err.kind, err.retryable) == ("timeout", True)


def test_dropped_connection(server: ChatServer) -> None:
    server.script = lambda body, n: Served(drop=True)
    err = fails(server, request())
    assert (err.kind, err.retryable) == ("connection", True)


def test_unreachable_server() -> None:
    with ChatServer() as s:
        url = s.url
    async def main() -> None:
        client = TeacherClient(base_url=url, api_key=None, api_key_env="K", timeout=2)
        try:
            await client.complete(request())
        finally:
            await client.aclose()
    with pytest.raises(CallError) as info:
        asyncio.run(main())
    assert info.value.kind == "connection" and url in info.value.message


def test_parse_reply_shapes() -> None:
    body = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
                      "completion_tokens_details": {"reasoning_tokens": 1}}}
    reply = parse_reply(body)
    assert (reply.content, reply.finish_reason, reply.usage["reasoning_tokens"]) == ("ab", "length", 1)
    assert parse_reply({"choices": [{"message": {"content": None}, "finish_reason": "stop"}]}).content is None
    with pytest.raises(CallError, match="has no 'choices'"):
        parse_reply({"id": "x"})
    assert Reply.from_dict(reply.to_dict()) == reply


def test_request_key_depends_on_content_only() -> None:
    base = request("p", temperature=0.7)
    assert base.key == request("p", temperature=0.7).key
    assert base.key != request("p", temperature=0.8).key
    assert base.key != request("q", temperature=0.7).key
    assert base.key != TeacherRequest(model="m", messages=base.messages, params=base.params, template_hash="h").key
    assert base.key != TeacherRequest(model="m", messages=base.messages, params=base.params, sample=1).key


@pytest.mark.parametrize(("url", "local"), [("http://127.0.0.1:8000/v1", True), ("http://localhost:1/v1", True),
                                            ("http://192.168.1.5/v1", True), ("http://[::1]:80/v1", True),
                                            ("https://api.openai.com/v1", False), ("https://8.8.8.8/v1", False)])
def test_is_local_url(url: str, local: bool) -> None:
    assert is_local_url(url) is local


def test_429_out_of_quota_stops_the_run_instead_of_retrying(server: ChatServer) -> None:
    server.script = lambda body, n: Served(status=429, body={"error": {
        "message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"}})
    err = fails(server, request())
    assert (err.kind, err.fatal, err.retryable) == ("insufficient_quota", True, False)
    assert err.message.startswith("the account behind the API key has no quota left (HTTP 429): You exceeded")


def test_credentials_in_the_base_url_appear_in_no_error_message(server: ChatServer) -> None:
    # Some proxies take their key in the URL; the manifest redacts it, so must every error message.
    live = server.url.replace("http://", "http://user:pw-SECRET-1@")
    server.script = lambda body, n: Served.error(404, "model 'm' not found")

    async def main(url: str) -> CallError:
        client = TeacherClient(base_url=url, api_key=None, api_key_env="K", timeout=2)
        try:
            with pytest.raises(CallError) as info:
                await client.complete(request())
            return info.value
        finally:
            await client.aclose()

    not_found = asyncio.run(main(live))
    assert not_found.kind == "not_found" and "pw-SECRET-1" not in not_found.message
    assert "127.0.0.1" in not_found.message
    with ChatServer() as gone:
        dead = gone.url.replace("http://", "http://user:pw-SECRET-2@") + "?api-key=SECRET-3"
    unreachable = asyncio.run(main(dead))
    assert unreachable.kind == "connection"
    assert "SECRET" not in unreachable.message and "127.0.0.1" in unreachable.message


def test_content_parts_without_text_are_skipped_not_a_crash() -> None:
    body = {"choices": [{"message": {"content": [{"type": "image_url", "image_url": {"url": "x"}},
                                                 {"type": "text", "text": None}, {"type": "text", "text": "a"}]},
                         "finish_reason": "stop"}]}
    assert parse_reply(body).content == "a"
