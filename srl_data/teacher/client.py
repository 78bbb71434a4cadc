"""One chat-completions call through the real ``openai`` async client.

:class:`TeacherRequest` is the exact content of a request (and its cache key);
:class:`TeacherClient` sends it once (``max_retries=0``: :mod:`.retry` owns
retrying, so ``Retry-After`` is honoured and every attempt is counted) and
returns a :class:`Reply`, or raises :class:`CallError` saying what kind of
failure it was, whether trying again can help and whether the whole run must
stop (a bad key, an unknown model).

The API key is handed to the client and nowhere else: every message that
leaves this module has it replaced by ``***``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Sent to keyless (local) servers, which ignore it; the client needs some key.
KEYLESS_PLACEHOLDER = "no-key"


@dataclass(frozen=True)
class TeacherRequest:
    """A chat-completions request: what is sent, and the hash that names it."""

    model: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    params: tuple[tuple[str, Any], ...] = ()  # temperature, top_p, max_tokens, seed (only those set)
    extra_body: str | None = None  # canonical JSON, passed through to the server
    template_hash: str = ""
    sample: int = 0

    @property
    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def extra_body_dict(self) -> dict[str, Any] | None:
        return json.loads(self.extra_body) if self.extra_body else None

    def canonical(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": self.message_dicts,
            "params": self.param_dict,
            "extra_body": self.extra_body_dict,
            "template_hash": self.template_hash,
            "sample": self.sample,
        }

    @property
    def key(self) -> str:
        """Hash of everything that changes the answer (never the API key)."""
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Reply:
    """What the server answered (first choice), as stored in the cache."""

    content: str | None
    finish_reason: str | None
    reasoning: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return int(self.usage.get("prompt_tokens", 0))

    @property
    def completion_tokens(self) -> int:
        return int(self.usage.get("completion_tokens", 0))

    @property
    def total_tokens(self) -> int:
        return int(self.usage.get("total_tokens", self.prompt_tokens + self.completion_tokens))

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Reply":
        return cls(
            content=data.get("content"),
            finish_reason=data.get("finish_reason"),
            reasoning=data.get("reasoning"),
            usage=dict(data.get("usage") or {}),
            model=data.get("model"),
        )


class CallError(Exception):
    """One failed attempt: ``kind`` names it (``rate_limited``, ``timeout``,
    ``server_error``, ...), ``retryable`` says whether trying again can help,
    ``fatal`` whether the whole run must stop, ``retry_after`` what the server
    asked us to wait (seconds)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        fatal: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retryable = retryable
        self.fatal = fatal
        self.retry_after = retry_after


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine or a private network (where servers often need no key)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".local") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def parse_reply(body: Any) -> Reply:
    """The first choice of a chat-completions body; CallError('malformed_response') when it is not one."""
    if not isinstance(body, dict):
        raise CallError("malformed_response", "the server's answer is not a JSON object", retryable=True)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            raise CallError("server_error", f"the server answered with an error: {error['message']}", retryable=True)
        raise CallError("malformed_response", "the server's answer has no 'choices'", retryable=True)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise CallError("malformed_response", "the server's answer has no 'message'", retryable=True)
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        # Some servers return a list of content parts.
        if isinstance(content, list):
            content = "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        else:
            raise CallError("malformed_response", "the message 'content' is not text", retryable=True)
    reasoning = message.get("reasoning_content")
    if not isinstance(reasoning, str):
        reasoning = message.get("reasoning") if isinstance(message.get("reasoning"), str) else None
    usage: dict[str, int] = {}
    raw_usage = body.get("usage")
    if isinstance(raw_usage, dict):
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = raw_usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                usage[name] = value
        details = raw_usage.get("completion_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
            usage["reasoning_tokens"] = details["reasoning_tokens"]
    finish = choice.get("finish_reason")
    return Reply(
        content=content,
        finish_reason=finish if isinstance(finish, str) else None,
        reasoning=reasoning or None,
        usage=usage,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
    )


class TeacherClient:
    """Sends :class:`TeacherRequest` objects to one OpenAI-compatible server."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        api_key_env: str,
        timeout: float,
    ) -> None:
        from openai import AsyncOpenAI

        from ..manifest import scrub

        self.base_url = scrub(base_url)  # as shown in messages: credentials in the URL redacted
        self.api_key_env = api_key_env
        self._secret = api_key or ""
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or KEYLESS_PLACEHOLDER,
            max_retries=0,
            timeout=timeout,
        )

    def redact(self, text: str) -> str:
        """``text`` with the API key replaced by ``***``."""
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "***")
        return text

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: TeacherRequest) -> Reply:
        import openai

        from .retry import parse_retry_after

        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                model=request.model,
                messages=request.message_dicts,  # type: ignore[arg-type]
                extra_body=request.extra_body_dict,
                **request.param_dict,
            )
        except openai.APITimeoutError:
            raise CallError("timeout", "the request timed out (see --timeout)", retryable=True) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            detail = f" ({type(cause).__name__})" if cause is not None else ""
            raise CallError(
                "connection",
                self.redact(f"cannot reach {self.base_url}{detail}"),
                retryable=True,
            ) from None
        except openai.APIStatusError as exc:
            raise self._status_error(
                exc.status_code,
                _error_text(exc),
                parse_retry_after(exc.response.headers),
                code=exc.code or getattr(exc, "type", None),
            ) from None
        try:
            body = json.loads(raw.text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CallError("malformed_response", "the server's answer is not valid JSON", retryable=True) from None
        return parse_reply(body)

    def _status_error(self, status: int, text: str, retry_after: float | None, code: str | None = None) -> CallError:
        from .retry import RETRY_STATUSES

        text = self.redact(text)
        said = f": {text}" if text else ""
        if status == 429 and code == "insufficient_quota":
            # Not a rate limit: the account has no credit left, and waiting will not bring it back.
            return CallError(
                "insufficient_quota",
                f"the account behind the API key has no quota left (HTTP 429){said}. Check its billing and "
                "limits, then rerun to resume",
                status=status,
                fatal=True,
            )
        if status == 401:
            return CallError(
                "auth",
                f"the server refused the API key (HTTP 401){said}. Check the key in the environment "
                f"variable {self.api_key_env} (or name another one with --api-key-env)",
                status=status,
                fatal=True,
            )
        if status == 403:
            return CallError(
                "forbidden",
                f"the API key may not use this model or endpoint (HTTP 403){said}. Check the key in "
                f"{self.api_key_env} and --teacher",
                status=status,
                fatal=True,
            )
        if status == 404:
            return CallError(
                "not_found",
                f"{self.base_url} has no such model or endpoint (HTTP 404){said}. Check --teacher and "
                "--base-url (it usually ends in /v1)",
                status=status,
                fatal=True,
            )
        if status in RETRY_STATUSES or status >= 500:
            kind = {429: "rate_limited", 408: "request_timeout", 409: "conflict"}.get(status, "server_error")
            return CallError(kind, f"HTTP {status}{said}", status=status, retryable=True, retry_after=retry_after)
        kind = "bad_request" if status in (400, 422) else f"http_{status}"
        return CallError(kind, f"the server rejected the request (HTTP {status}){said}", status=status)


def _error_text(exc: Any) -> str:
    """The server's own error message, shortened to one line."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
        elif isinstance(inner, str):
            message = inner
    if not isinstance(message, str):
        message = str(getattr(exc, "message", "") or "")
    line = " ".join(message.split())
    return line[:300]
