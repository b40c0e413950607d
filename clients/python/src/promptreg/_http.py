"""The blocking HTTP transport: `http.client` with one keep-alive connection per thread.

Standard library only. A request that fails on a connection reused from an earlier request
(the server closed it while idle) is retried once on a new connection when it is a read.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidRequest, PromptRegError, Unavailable, from_response

_USER_AGENT = "promptreg-python/0.1.0"


class Response:
    """A whole answer: status, headers (lower-case names) and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise Unavailable(f"the server's answer is not JSON: {e}", status=self.status) from e

    def error(self) -> PromptRegError:
        return from_response(self.status, self.body)


def query_string(params: Mapping[str, str | None]) -> str:
    """`?a=1&b=2` of the parameters that are not None, percent-encoded (a space as `%20`: the
    server reads `+` as a space too, but `%20` is unambiguous)."""
    pairs = [
        f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}"
        for k, v in params.items()
        if v is not None
    ]
    return "?" + "&".join(pairs) if pairs else ""


class Transport:
    """Requests against one base URL, shared by threads (each uses its own connection)."""

    def __init__(self, base_url: str, token: str | None, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidRequest(f"base URL `{base_url}` is not http://HOST[:PORT] or https://...")
        self.base_url = base_url.rstrip("/")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self._headers = {"user-agent": _USER_AGENT, "accept": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._local = threading.local()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def new_connection(self, timeout: float) -> http.client.HTTPConnection:
        """A connection of the caller's own (the watcher's long polls keep theirs)."""
        return self._connect(timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> Response:
        """Sends `method path` (path below the base URL, query included) and reads the whole
        answer. Connection errors and timeouts raise `Unavailable`; any status is returned."""
        timeout = self.timeout if timeout is None else timeout
        all_headers = dict(self._headers)
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["content-type"] = "application/json"
        if headers:
            all_headers.update(headers)
        own = connection is None
        for attempt in (0, 1):
            conn = connection
            reused = True
            if conn is None:
                conn = getattr(self._local, "conn", None)
                if conn is None:
                    conn = self._connect(timeout)
                    self._local.conn = conn
                    reused = False
            if conn.sock is None:
                reused = False
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(method, self._prefix + path, body=data, headers=all_headers)
                raw = conn.getresponse()
                payload = raw.read()
                answer = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, payload)
                if raw.will_close:
                    conn.close()
                return answer
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if own:
                    self._local.conn = None
                retry = own and reused and attempt == 0 and method in ("GET", "HEAD")
                retry = retry and not isinstance(e, socket.timeout)
                if retry:
                    continue
                what = "timed out" if isinstance(e, socket.timeout) else "failed"
                raise Unavailable(
                    f"{method} {self.base_url}{path} {what}: {e or type(e).__name__}"
                ) from e
        raise AssertionError("unreachable")
