"""A real chat-completions HTTP server on 127.0.0.1 for tests and benchmarks.

It speaks enough of the OpenAI protocol for the ``openai`` client (POST
``/v1/chat/completions``, JSON in and out, keep-alive) and can misbehave on
purpose: a *script* decides each reply from the request body and how many
times that exact content was seen before. It counts requests by content, so
a test can assert that a finished request was never sent again.

    with ChatServer() as server:
        server.script = lambda body, attempt: Reply.error(429, retry_after="0") if attempt == 1 else None
        ... base_url=server.url ...

``script`` returns a :class:`Reply`, or None for the default answer: numbered
steps with bold titles and ``\\boxed{N}``, N being the last integer in the
user message's problem (so a problem "... give back 17." is answered 17).

Run it alone (for benchmarks): ``python tests/chat_server.py --latency 0.2``
prints its URL and serves until killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does with one request."""

    status: int = 200
    body: Any = None  # dict -> JSON, str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without answering

    @staticmethod
    def completion(
        content: str | None,
        *,
        finish_reason: str = "stop",
        reasoning: str | None = None,
        reasoning_field: str = "reasoning_content",
        prompt_tokens: int = 20,
        completion_tokens: int | None = None,
        delay: float = 0.0,
    ) -> "Reply":
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning is not None:
            message[reasoning_field] = reasoning
        if completion_tokens is None:
            completion_tokens = max(1, len((content or "").split()))
        body = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "test-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return Reply(body=body, delay=delay)

    @staticmethod
    def error(status: int, message: str = "injected error", *, retry_after: str | None = None,
              retry_after_ms: str | None = None) -> "Reply":
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        return Reply(status=status, body={"error": {"message": message, "type": "test", "code": None}},
                     headers=headers)


def problem_of(body: dict[str, Any]) -> str:
    """The last user message's content."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def default_solution(body: dict[str, Any]) -> str:
    numbers = re.findall(r"-?\d+", problem_of(body).split("Write the solution")[0])
    answer = numbers[-1] if numbers else "0"
    return (
        "1. **Read the problem** We note what is asked.\n"
        f"2. **Work it out** The value we need is {answer}.\n"
        f"3. **Conclude** So the answer is {answer}.\n\n"
        f"\\boxed{{{answer}}}"
    )


def content_key(body: dict[str, Any]) -> str:
    """What makes two requests the same: everything but transport details."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ChatServer:
    """A threaded HTTP server; ``script(body, attempt) -> Reply | None``."""

    def __init__(self, latency: float = 0.0, script: Callable[[dict[str, Any], int], Reply | None] | None = None) -> None:
        self.latency = latency
        self.script = script
        self.counts: Counter[str] = Counter()  # requests seen, by content_key
        self.bodies: dict[str, dict[str, Any]] = {}
        self.headers_seen: list[dict[str, str]] = []
        self.total = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # Like real servers: no Nagle delay (headers and body would otherwise wait for
                # the client's delayed ACK, about 40 ms a request).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(Reply.error(400, "body is not JSON"))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(Reply.error(404, f"no route {self.path}"))
                    return
                key = content_key(body)
                with server._lock:
                    server.counts[key] += 1
                    server.total += 1
                    server.bodies[key] = body
                    server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    attempt = server.counts[key]
                reply = server.script(body, attempt) if server.script else None
                if reply is None:
                    reply = Reply.completion(default_solution(body))
                wait = server.latency + reply.delay
                if wait:
                    time.sleep(wait)
                if reply.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                if isinstance(reply.body, (dict, list)):
                    data = json.dumps(reply.body).encode()
                    ctype = "application/json"
                elif isinstance(reply.body, bytes):
                    data, ctype = reply.body, "application/json"
                else:
                    data, ctype = str(reply.body or "").encode(), "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout): nothing to do
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out or get dropped on purpose reset connections

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def count_of(self, body: dict[str, Any]) -> int:
        return self.counts[content_key(body)]

    def start(self) -> "ChatServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ChatServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    server = ChatServer(latency=args.latency).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
