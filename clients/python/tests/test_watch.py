"""watch=True: the long poll against the real server, and its fallbacks (a server that refuses
`wait`, one that ignores it) against a small stand-in server."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import Registry, Server, long_poll_supported

from promptreg import Client

NAME = "support/refund-agent"


def test_watch_picks_up_a_cli_rollback(registry: Registry, server: Server) -> None:
    if not long_poll_supported(server.url):
        pytest.skip("this promptreg serve has no long poll (`wait`) yet")
    with Client(server.url, cache_ttl_seconds=300, watch=True) as c:
        assert c.get(NAME, environment="staging").version == "1.1.0"
        time.sleep(0.3)  # the watcher's long poll is waiting
        registry.cli("rollback", NAME, "--env", "staging", "--reason", "bad answers")
        started = time.monotonic()
        while c.get(NAME, environment="staging").version != "1.0.0":
            assert time.monotonic() - started < 3, "the rollback did not arrive"
            time.sleep(0.01)
        seen = c.get(NAME, environment="staging")
        assert seen.origin == "cache"  # pushed into the cache, not fetched by this call
        # and a canary started by the CLI reaches keyed reads too
        registry.cli(
            "promote", NAME, "1.2.0", "--env", "staging", "--canary", "50", "--reason", "canary"
        )
        started = time.monotonic()
        while c.get(NAME, environment="staging", key="alice").version != "1.2.0":
            assert time.monotonic() - started < 3, "the canary did not arrive"
            time.sleep(0.01)


class Stub:
    """A stand-in server for one prompt: `mode` "refuse" answers `wait` with 400
    unknown-parameter (a server before long polls), "ignore" answers at once (304 when the tag
    matches), "hold" keeps the request until `change()` or `wait` seconds."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.version = 1
        self.requests: list[str] = []
        self.times: list[float] = []
        self.changed = threading.Condition()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub.requests.append(self.path)
                stub.times.append(time.monotonic())
                wait = "wait=" in self.path
                tag = self.headers.get("if-none-match")
                if wait and stub.mode == "refuse":
                    body = {
                        "error": "unknown-parameter",
                        "message": "unknown query parameter `wait`; /api/prompts/NAME/latest"
                        " takes: environment, key",
                    }
                    return self.answer(400, body)
                if wait and stub.mode == "hold" and tag == stub.etag():
                    with stub.changed:
                        stub.changed.wait_for(lambda: tag != stub.etag(), timeout=1.0)
                if tag == stub.etag():
                    return self.answer(304, None)
                self.answer(
                    200,
                    {
                        "name": NAME,
                        "version": f"1.{stub.version}.0",
                        "system_prompt": "x",
                        "split": None,
                        "bucket": None,
                    },
                )

            def answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("etag", stub.etag())
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client closing its long poll is expected here

        self.http = Quiet(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def etag(self) -> str:
        return f'"v{self.version}"'

    def change(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def waits(self) -> int:
        return sum("wait=" in p for p in self.requests)


@pytest.fixture
def stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    s = Stub(request.param)
    yield s
    s.http.shutdown()


@pytest.mark.parametrize("stub", ["refuse"], indirect=True)
def test_a_server_without_long_poll_falls_back_to_the_ttl(
    stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="promptreg")
    c = Client(stub.url, cache_ttl_seconds=0.5, watch=True)
    assert c.get(NAME, environment="staging").version == "1.1.0"
    assert c.get(NAME, environment="production").version == "1.1.0"
    time.sleep(0.5)
    assert stub.waits() == 1  # asked once, then never again: no spinning
    warnings = [r for r in caplog.records if "long poll" in r.getMessage()]
    assert len(warnings) == 1 and "TTL" in warnings[0].getMessage()
    stub.change()  # the TTL still brings changes
    deadline = time.monotonic() + 3
    while c.get(NAME, environment="staging").version != "1.2.0":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert stub.waits() == 1
    c.close()


@pytest.mark.parametrize("stub", ["ignore"], indirect=True)
def test_a_server_ignoring_wait_is_not_hammered(stub: Stub) -> None:
    c = Client(stub.url, cache_ttl_seconds=1, watch=True)  # wait=1
    c.get(NAME)
    time.sleep(2.0)
    c.close()
    assert 1 <= stub.waits() <= 3, [t - stub.times[0] for t in stub.times]


@pytest.mark.parametrize("stub", ["hold"], indirect=True)
def test_the_long_poll_delivers_changes_at_once(stub: Stub) -> None:
    c = Client(stub.url, cache_ttl_seconds=300, watch=True)
    assert c.get(NAME).version == "1.1.0"
    time.sleep(0.2)
    stub.change()
    started = time.monotonic()
    while c.get(NAME).version != "1.2.0":
        assert time.monotonic() - started < 0.5, "not delivered by the long poll"
        time.sleep(0.005)
    assert c.get(NAME).origin == "cache"
    watchers = [t for t in threading.enumerate() if t.name.startswith("promptreg-watch")]
    assert watchers
    c.close()
    for t in watchers:
        t.join(1.0)
        assert not t.is_alive()
